/// The controlling terminal of processes, read from /proc: `pts/3`, `tty1`, `ttyS0`, or `?`
/// for none (forkstat's `TTY` column).
///
/// Keeps one read buffer for all its lookups (a view may ask for every line): use one per
/// thread.
public final class TerminalNames {
    private let procfs = ProcFS()

    /// A reader with its own buffer.
    public init() {}

    /// The terminal of `pid` (`tty_nr` of `/proc/PID/stat`); nil once the process is gone.
    public func name(of pid: Int32) -> String? {
        procfs.terminalNumber(pid).map(Self.name(deviceNumber:))
    }

    /// The name of a terminal device number as `tty_nr` encodes it (major in bits 8–19,
    /// minor in bits 0–7 and 20–31): `pts/N` for the pseudo-terminal majors 136–143,
    /// `ttyN` and `ttySN` for major 4, `MAJOR:MINOR` for others, `?` for 0 (no terminal).
    public static func name(deviceNumber number: Int) -> String {
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

extension ProcFS {
    /// `tty_nr`, the 7th field of `/proc/PID/stat`; nil when the process is gone.
    func terminalNumber(_ pid: Int32) -> Int? {
        guard let bytes = read("/proc/\(pid)/stat"),
              let close = bytes.lastIndex(of: UInt8(ascii: ")")), close + 2 < bytes.endIndex else { return nil }
        // Fields after "(comm)": state(3) ppid(4) pgrp(5) session(6) tty_nr(7).
        let fields = bytes[(close + 2)...].split(separator: UInt8(ascii: " "), maxSplits: 5)
        guard fields.count > 4 else { return nil }
        return Int(String(decoding: fields[4], as: UTF8.self))
    }
}
