import Foundation

/// The controlling terminal of a process (`tty_nr` of /proc/PID/stat) as `pts/3` or `tty1`.
final class TerminalNames {
    func name(of pid: Int32) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
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
