#if canImport(Glibc)
import Glibc
#endif

/// A process's identity that never repeats (`process_key`): the boot, the pid and the
/// start time (CLOCK_MONOTONIC nanoseconds as the process table knows it). Two processes of
/// one boot that share a pid cannot have started at the same moment, and a pid's numbers
/// from another boot carry another boot id.
///
/// Written `<boot>-<pid>-<start>`, e.g. `3f2a9c1e-4242-81234567890`: `<boot>` is the first 8
/// hex digits of `/proc/sys/kernel/random/boot_id`.
public struct ProcessKey: Sendable, Hashable, CustomStringConvertible {
    /// The process id.
    public var pid: Int32
    /// When the process started, CLOCK_MONOTONIC nanoseconds: its fork event's timestamp,
    /// or for a process already running when it was first met, `/proc/PID/stat`'s start
    /// time moved to that clock.
    public var startNanoseconds: UInt64

    /// Creates a key.
    public init(pid: Int32, startNanoseconds: UInt64) {
        self.pid = pid
        self.startNanoseconds = startNanoseconds
    }

    /// Reads a key as written (``description``); the boot part is checked for shape only.
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].utf8.count == 8, parts[0].allSatisfy(\.isHexDigit),
              let pid = Int32(parts[1]), let start = UInt64(parts[2]) else { return nil }
        self.init(pid: pid, startNanoseconds: start)
    }

    /// The key as written in the contract.
    public var description: String { "\(Self.boot)-\(pid)-\(startNanoseconds)" }

    /// The first 8 hex digits of this boot's id (`/proc/sys/kernel/random/boot_id`), read
    /// once; `00000000` if it cannot be read.
    public static let boot: String = {
        let fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "00000000" }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 8)
        let count = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress!, 8) }
        return count == 8 ? String(decoding: bytes, as: UTF8.self) : "00000000"
    }()
}
