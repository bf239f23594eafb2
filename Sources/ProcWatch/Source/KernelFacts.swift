#if canImport(Glibc)
import Glibc
#endif

/// What the running kernel can do, read once.
enum KernelFacts {
    /// The kernel's release as (major, minor), from uname(2).
    static let release: (major: Int, minor: Int) = {
        var name = utsname()
        guard uname(&name) == 0 else { return (0, 0) }
        let text = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let numbers = text.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return (numbers.first ?? 0, numbers.count > 1 ? numbers[1] : 0)
    }()

    /// Linux 6.6 added the per-socket event filter (`struct proc_input`).
    static var hasEventFilter: Bool { release.major > 6 || (release.major == 6 && release.minor >= 6) }

    /// Whether /proc/net/connector lists the cn_proc callback (nil if the file cannot be read).
    static func connectorListsProcEvents() -> Bool? {
        guard let text = readSmallFile("/proc/net/connector") else { return nil }
        return text.contains("cn_proc")
    }

    /// Reads a small text file in one go (for /proc files), or nil.
    static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes.append(contentsOf: chunk[..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// The two clocks events are mapped between.
package enum Clocks {
    /// CLOCK_MONOTONIC now, in nanoseconds (the kernel's `timestamp_ns` clock).
    package static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    /// CLOCK_MONOTONIC now, in seconds (for deadlines and elapsed times).
    package static func monotonicSeconds() -> Double { Double(monotonicNanoseconds()) / 1e9 }

    /// CLOCK_REALTIME minus CLOCK_MONOTONIC, in nanoseconds: adds to a kernel timestamp
    /// to give Unix time. Read again for every batch so clock steps are followed.
    package static func unixOffsetNanoseconds() -> Int64 {
        var real = timespec()
        var monotonic = timespec()
        clock_gettime(CLOCK_MONOTONIC, &monotonic)
        clock_gettime(CLOCK_REALTIME, &real)
        return (Int64(real.tv_sec) - Int64(monotonic.tv_sec)) * 1_000_000_000 + (Int64(real.tv_nsec) - Int64(monotonic.tv_nsec))
    }
}
