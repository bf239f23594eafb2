#if canImport(Glibc)
import Glibc
#endif

/// Reads /proc/PID files with one `read` each into a reused buffer.
///
/// Not thread-safe: each reader (the process table's owner) keeps its own.
final class ProcFS: @unchecked Sendable {
    private var buffer = [UInt8](repeating: 0, count: 32 * 1024)
    private let clockTicks = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// The bytes of a small /proc file, or nil when it cannot be read (the process is gone).
    func read(_ path: String) -> ArraySlice<UInt8>? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var total = 0
        while total < buffer.count {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + total, $0.count - total) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            total += count
        }
        return buffer[..<total]
    }

    /// `/proc/PID/cmdline` split at NULs (empty for kernel threads and zombies); nil when gone.
    func commandLine(_ pid: Int32) -> [String]? {
        guard let bytes = read("/proc/\(pid)/cmdline") else { return nil }
        var trimmed = bytes
        while trimmed.last == 0 { trimmed = trimmed.dropLast() }
        if trimmed.isEmpty { return [] }
        return trimmed.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    }

    /// `/proc/PID/comm` without its newline; nil when gone.
    func name(_ pid: Int32) -> String? {
        guard var bytes = read("/proc/\(pid)/comm"), !bytes.isEmpty else { return nil }
        if bytes.last == 0x0A { bytes = bytes.dropLast() }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The target of `/proc/PID/exe`; nil when gone or unreadable (kernel threads).
    func executable(_ pid: Int32) -> String? {
        var target = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/\(pid)/exe", &target, target.count - 1)
        guard length > 0 else { return nil }
        return String(decoding: target[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// From `/proc/PID/stat`: parent pid and start time in nanoseconds since boot.
    func status(_ pid: Int32) -> (parent: Int32, startSinceBoot: UInt64)? {
        guard let bytes = read("/proc/\(pid)/stat"),
              let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        // Fields after "(comm)": state(3) ppid(4) ... starttime(22).
        let fields = bytes[(close + 2)...].split(separator: UInt8(ascii: " "))
        guard fields.count > 19,
              let parent = Int32(String(decoding: fields[1], as: UTF8.self)),
              let ticks = UInt64(String(decoding: fields[19], as: UTF8.self)) else { return nil }
        return (parent, UInt64(Double(ticks) / clockTicks * 1e9))
    }

    /// The real uid from `/proc/PID/status`.
    func uid(_ pid: Int32) -> UInt32? {
        guard let bytes = read("/proc/\(pid)/status") else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Uid:") }) else { return nil }
        return line.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().first.flatMap { UInt32($0) }
    }

    /// Every numeric entry of /proc.
    func pids() -> [Int32] {
        guard let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        var pids: [Int32] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if let pid = Int32(name) { pids.append(pid) }
        }
        return pids
    }
}
