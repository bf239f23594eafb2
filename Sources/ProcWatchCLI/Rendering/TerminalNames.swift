#if canImport(Glibc)
import Glibc
#endif

/// The controlling terminal of a process (`tty_nr` of /proc/PID/stat) as `pts/3` or `tty1`.
final class TerminalNames {
    /// One read into a reused buffer (the `-x` view asks for every line).
    private var buffer = [UInt8](repeating: 0, count: 1024)

    func name(of pid: Int32) -> String? {
        let descriptor = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        let length = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        guard length > 0 else { return nil }
        let stat = String(decoding: buffer[..<length], as: UTF8.self)
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
        guard fields.count > 4, let number = Int(fields[4]) else { return nil }
        if number == 0 { return "?" }
        let major = (number >> 8) & 0xFFF
        let minor = (number & 0xFF) | ((number >> 12) & 0xFFF00)
        switch major {
        case 136...143: return "pts/\((major - 136) * 256 + minor)"
        case 4: return minor < 64 ? "tty\(minor)" : "ttyS\(minor - 64)"
        default: return "\(major):\(minor)"
        }
    }
}
