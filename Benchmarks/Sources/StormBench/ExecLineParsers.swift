/// Readers of the exec lines of each consumer `storm-bench fidelity` judges. The text views
/// print a command line's newlines as they are: a line that does not start a record
/// continues the previous one.
enum ExecLineParsers {
    // MARK: procwatch

    /// `procwatch --json`: exec events with `pid`, `ktime_ns` and `cmdline` (absent when
    /// procwatch did not read it: then `comm`); `lost` events add their `count`.
    static func procwatchJSON(_ bytes: [UInt8]) -> ExecView {
        var view = ExecView()
        var lost = 0
        forEachLine(bytes) { raw in
            let line = ByteLine(raw)
            switch line.string(after: Keys.event) {
            case "exec":
                guard let pid = line.int(after: Keys.pid) else { return }
                let shown: ShownExec.Shown = line.stringArray(after: Keys.cmdline).map { .argv($0) }
                    ?? .name(line.string(after: Keys.comm) ?? "")
                view.execs.append(ShownExec(pid: pid, time: line.int(after: Keys.ktime), shown: shown))
            case "lost":
                lost += line.int(after: Keys.count) ?? 0
            default:
                return
            }
        }
        view.lost = lost
        return view
    }

    /// The `procwatch` text view: `TIME EVENT PID PPID INFO DURATION PROCESS`, TIME 15
    /// characters, INFO padded to 24 and DURATION to 9, so PROCESS starts at character 76.
    /// PROCESS is the command line joined by spaces (trailing spaces trimmed), or `[comm]`
    /// (`?`) when procwatch had none. Lost events: `… lost N events (reason, cpu C)`.
    static func procwatchText(_ bytes: [UInt8]) -> ExecView {
        var view = ExecView()
        var lost = 0
        var open: (pid: Int, text: String)?
        func close() {
            guard let record = open else { return }
            let text = record.text
            let shown: ShownExec.Shown
            if text == "?" {
                shown = .name(text)
            } else if text.hasPrefix("[") && text.hasSuffix("]") && !text.contains(" ") {
                shown = .name(String(text.dropFirst().dropLast()))
            } else {
                shown = .text(text)
            }
            view.execs.append(ShownExec(pid: record.pid, time: nil, shown: shown))
            open = nil
        }
        forEachLine(bytes) { raw in
            let line = ByteLine(raw)
            guard line.startsWithClock(fractionDigits: 6) else {
                // A newline inside the command line being shown.
                open?.text += "\n" + line.text(0..<raw.count)
                return
            }
            close()
            let tokens = line.tokens(limit: 6)
            guard tokens.count >= 3 else { return }
            switch line.text(tokens[1]) {
            case "exec":
                guard let pid = Int(line.text(tokens[2])) else { return }
                let scalars = line.text(0..<raw.count).unicodeScalars
                open = (pid, String(String.UnicodeScalarView(scalars.dropFirst(76))))
            case "lost":
                // PID and PPID are blank: "TIME lost lost N events (...)".
                if let at = tokens.indices.dropFirst(2).first(where: { line.text(tokens[$0]) == "lost" }),
                   at + 1 < tokens.count, let count = Int(line.text(tokens[at + 1])) { lost += count }
            default:
                return
            }
        }
        close()
        view.lost = lost
        return view
    }

    // MARK: forkstat

    /// `forkstat -e exec`: `HH:MM:SS exec PID <spaces> PROCESS`, the header repeated now and
    /// then. PROCESS is /proc/PID/cmdline with every NUL made a space, so it ends with a
    /// space; without one it is the name forkstat fell back on (comm, or `<unknown>`).
    static func forkstat(_ bytes: [UInt8]) -> ExecView {
        var view = ExecView()
        var open: (pid: Int, text: String)?
        func close() {
            guard let record = open else { return }
            let shown: ShownExec.Shown = record.text.hasSuffix(" ") ? .text(String(record.text.dropLast())) : .name(record.text)
            view.execs.append(ShownExec(pid: record.pid, time: nil, shown: shown))
            open = nil
        }
        forEachLine(bytes) { raw in
            let line = ByteLine(raw)
            let tokens = line.tokens(limit: 3)
            guard line.startsWithClock(fractionDigits: 0), tokens.count == 3, let pid = Int(line.text(tokens[2])) else {
                if tokens.first.map({ line.text($0) }) == "Time" { close() } else { open?.text += "\n" + line.text(0..<raw.count) }
                return
            }
            close()
            guard line.text(tokens[1]) == "exec" else { return }
            var start = tokens[2].upperBound
            while start < raw.count && raw[start] == UInt8(ascii: " ") { start += 1 }
            open = (pid, line.text(start..<raw.count))
        }
        close()
        return view
    }
}

extension Keys {
    static let ktime = Array(#""ktime_ns":"#.utf8)
    static let cmdline = Array(#""cmdline":"#.utf8)
}

extension ByteLine {
    /// Does the line start with `HH:MM:SS` (then `.` and `fractionDigits` digits) and a space?
    func startsWithClock(fractionDigits: Int) -> Bool {
        let pattern = Array("00:00:00".utf8) + (fractionDigits > 0 ? [UInt8(ascii: ".")] + Array(repeating: UInt8(ascii: "0"), count: fractionDigits) : [])
        guard bytes.count > pattern.count, bytes[pattern.count] == UInt8(ascii: " ") else { return false }
        for (index, expected) in pattern.enumerated() {
            let byte = bytes[index]
            if expected == UInt8(ascii: "0") {
                guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return false }
            } else if byte != expected {
                return false
            }
        }
        return true
    }

    /// The JSON array of strings right after `key`, escapes decoded (nil if absent).
    func stringArray(after key: [UInt8]) -> [String]? {
        guard var at = find(key).map({ $0 + key.count }), at < bytes.count, bytes[at] == UInt8(ascii: "[") else { return nil }
        at += 1
        var strings: [String] = []
        while at < bytes.count {
            switch bytes[at] {
            case UInt8(ascii: "]"): return strings
            case UInt8(ascii: ","), UInt8(ascii: " "): at += 1
            case UInt8(ascii: "\""):
                guard let (string, end) = jsonString(at: at) else { return nil }
                strings.append(string)
                at = end
            default: return nil
            }
        }
        return nil
    }

    /// The JSON string literal starting at the quote at `start`, and the index after it.
    func jsonString(at start: Int) -> (String, Int)? {
        var out: [UInt8] = []
        var at = start + 1
        while at < bytes.count {
            let byte = bytes[at]
            if byte == UInt8(ascii: "\"") { return (String(decoding: out, as: UTF8.self), at + 1) }
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                at += 1
                continue
            }
            guard at + 1 < bytes.count else { return nil }
            let escaped = bytes[at + 1]
            at += 2
            switch escaped {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                guard at + 4 <= bytes.count else { return nil }
                var value: UInt32 = 0
                for digit in bytes[at..<(at + 4)] {
                    guard let nibble = ReferenceLog.hexValue(digit) else { return nil }
                    value = value << 4 | UInt32(nibble)
                }
                at += 4
                // procwatch escapes only control characters this way; anything else is kept as it came.
                out.append(contentsOf: Array(String(Unicode.Scalar(value).map(Character.init) ?? "\u{FFFD}").utf8))
            default: out.append(escaped)  // \" \\ \/
            }
        }
        return nil
    }
}
