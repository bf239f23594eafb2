extension HistoryEntry {
    /// The column header of ``line(userName:)``'s lines.
    public static let header = Self.header(hosts: false)

    /// The column header, with a `HOST` column after `START` for the fleet store's history.
    public static func header(hosts: Bool) -> String {
        TextColumns.left("START", 27) + " " + (hosts ? TextColumns.left("HOST", hostWidth) + " " : "") + TextColumns.left("USER", 8) + " " + TextColumns.right("PID", 7) + " "
            + TextColumns.right("LIFETIME", 15) + " " + TextColumns.right("CPU", 15) + " " + TextColumns.left("EXIT", 17) + " COMMAND"
    }

    /// The host column's width (a longer name widens its line).
    static let hostWidth = 12

    /// One line: start (RFC 3339 UTC, as `report` writes times), user (`userName` of the uid;
    /// `-` when unknown), pid, lifetime and CPU in seconds (`-` when unknown), exit (`exit 0`,
    /// `exit 3`, `killed by SIGKILL`, `SIGSEGV (core dumped)` as `report` and the live view
    /// say it; `running`; `unknown` when its recording ended first), and the whole command
    /// line, shell-quoted where needed (`[comm]` when it was never read). Never cut. An
    /// entry of the fleet store's history names its host after the start.
    public func line(userName: (UInt32) -> String) -> String {
        let exit = switch state {
        case .ended(let status): "\(status)"
        case .running: "running"
        case .unknown: "unknown"
        }
        let command = commandLine.isEmpty ? "[\(comm)]" : ShellWords.join(commandLine)
        return TextColumns.left(StoreClock.rfc3339(unixNanoseconds: start), 27) + " " + (host.map { TextColumns.left($0, Self.hostWidth) + " " } ?? "")
            + TextColumns.left(uid.map(userName) ?? "-", 8) + " "
            + TextColumns.right("\(pid)", 7) + " " + TextColumns.right(durationSeconds.map { RecordingReport.seconds($0) + "s" } ?? "-", 15) + " "
            + TextColumns.right(cpuSeconds.map { RecordingReport.seconds($0) + "s" } ?? "-", 15) + " " + TextColumns.left(exit, 17) + " " + command
    }
}
