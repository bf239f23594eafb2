extension HistoryEntry {
    /// The column header of ``line(userName:)``'s lines.
    public static let header = column("START", 27) + " " + column("USER", 8) + " " + right("PID", 7) + " "
        + right("LIFETIME", 15) + " " + right("CPU", 15) + " " + column("EXIT", 17) + " COMMAND"

    /// One line: start (RFC 3339 UTC, as `report` writes times), user (`userName` of the uid;
    /// `-` when unknown), pid, lifetime and CPU in seconds (`-` when unknown), exit (`exit 0`,
    /// `exit 3`, `killed by SIGKILL`, `SIGSEGV (core dumped)` as `report` and the live view
    /// say it; `running`; `unknown` when its recording ended first), and the whole command
    /// line, shell-quoted where needed (`[comm]` when it was never read). Never cut.
    public func line(userName: (UInt32) -> String) -> String {
        let exit = switch state {
        case .ended(let status): "\(status)"
        case .running: "running"
        case .unknown: "unknown"
        }
        let command = commandLine.isEmpty ? "[\(comm)]" : ShellWords.join(commandLine)
        return Self.column(StoreClock.rfc3339(unixNanoseconds: start), 27) + " " + Self.column(uid.map(userName) ?? "-", 8) + " "
            + Self.right("\(pid)", 7) + " " + Self.right(durationSeconds.map { RecordingReport.seconds($0) + "s" } ?? "-", 15) + " "
            + Self.right(cpuSeconds.map { RecordingReport.seconds($0) + "s" } ?? "-", 15) + " " + Self.column(exit, 17) + " " + command
    }

    /// Left-aligned in `width` characters; a longer text is kept whole (the line widens).
    private static func column(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    /// Right-aligned in `width` characters; a longer text is kept whole.
    private static func right(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }
}
