import ArgumentParser
import ProcWatchCLI
import ProcWatchStore

/// `procwatch history`: see ``StoreCommandConfigurations/history``.
struct HistoryCommand: ParsableCommand {
    static let configuration = StoreCommandConfigurations.history

    /// `--json`, `--comm` and `--user` are the root command's options (an option both
    /// declared would be parsed into the root's): read from there.
    @ParentCommand var root: ProcWatchCommand

    @Option(name: .long, help: ArgumentHelp(
        "The daemon's state directory; the history is history.db in it (default /var/lib/procwatch). Example: --state-dir /tmp/pw",
        valueName: "DIR"))
    var stateDir: String?

    @Option(name: .long, help: ArgumentHelp("Read this store file instead (any file procwatch record wrote, too). Example: --file build.db", valueName: "FILE"))
    var file: String?

    @Option(name: .long, help: ArgumentHelp(
        "Only processes that started at or after this time: 3h, 90m, 2d (ago), today, yesterday (UTC midnight), or a UTC time. Example: --since yesterday",
        valueName: "TIME"))
    var since: String?

    @Option(name: .long, help: ArgumentHelp("Only processes that started before this time (as --since). Example: --since yesterday --until today", valueName: "TIME"))
    var until: String?

    @Flag(name: .long, help: "Only processes that failed: a non-zero exit, killed by a signal, or an exec that failed. Example: procwatch history --failed")
    var failed = false

    // `.unconditional`: `--limit -3` is a bad value to name, not a missing one.
    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Only the newest N processes (still oldest first). Example: --limit 20", valueName: "N"))
    var limit: Int?

    /// The store read: `--file`, else `history.db` in the state directory.
    var path: String {
        file ?? (stateDir.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 } ?? "/var/lib/procwatch") + "/history.db"
    }

    func validate() throws {
        try root.rejectOptions(notUsedBy: "history", used: ["--json", "--comm", "--user"])
        if stateDir != nil, file != nil { throw ValidationError("--state-dir and --file both name the history: use one") }
        if let limit, limit < 1 { throw ValidationError("--limit takes a number of processes (1 or more), not \(limit)") }
        _ = try query()
    }

    /// The selection; a bad time, user or regular expression is a `ValidationError` (exit 64,
    /// as `report`'s).
    func query(now: Int64? = nil) throws -> HistoryQuery {
        var query = HistoryQuery()
        for (flag, value) in [("--since", since), ("--until", until)] {
            guard let value else { continue }
            guard let instant = HistoryTime.parse(value, now: now) else {
                throw ValidationError("\(flag) '\(value)' is not a time: use \(HistoryTime.examples)")
            }
            if flag == "--since" { query.since = instant } else { query.until = instant }
        }
        // The live view's option parsing, so --comm and --user are refused the same way.
        let filter = try root.selecting.filter(checkingProcesses: false)
        query.comm = filter.comm
        query.uid = filter.uid
        query.failedOnly = failed
        query.limit = limit
        return query
    }

    /// The selection as typed, for "nothing matches": `--since 3h --failed`.
    var selectionDescribed: String {
        var parts: [String] = []
        if let since { parts.append("--since \(since)") }
        if let until { parts.append("--until \(until)") }
        if let user = root.selecting.user { parts.append("--user \(user)") }
        if let comm = root.selecting.comm { parts.append("--comm '\(comm)'") }
        if failed { parts.append("--failed") }
        return parts.joined(separator: " ")
    }

    func run() throws {
        let output = LineOutput(buffered: true)
        let names = AccountNames()
        let json = root.json
        var count = 0
        do {
            try HistoryReader.read(path: path, query: try query()) { entry in
                if json {
                    output.write(entry.json(userName: names.user))
                } else {
                    if count == 0 { output.write(HistoryEntry.header) }
                    output.write(entry.line(userName: names.user))
                }
                count += 1
            }
        } catch let error as StoreError {
            FileHandleOutput.standardError("procwatch: \(error)")
            throw ExitCode(1)
        }
        output.flush()
        if count == 0 {
            let selection = selectionDescribed
            FileHandleOutput.standardError(selection.isEmpty
                ? "procwatch: \(path) holds no process yet"
                : "procwatch: no process in \(path) matches \(selection)")
            throw ExitCode(1)
        }
        if output.failed { throw ExitCode(1) }
    }
}
