import ArgumentParser
import ProcWatchCLI
import ProcWatchFleet
import ProcWatchStore

/// `procwatch history`: see ``StoreCommandConfigurations/history``.
struct HistoryCommand: AsyncParsableCommand {
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

    @Option(name: .long, help: FleetAccess.fromHelp)
    var from: String?

    @Option(name: .long, help: FleetAccess.hostHelp)
    var host: [String] = []

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
        if [stateDir, file, from].compactMap({ $0 }).count > 1 {
            throw ValidationError("--state-dir, --file and --from each name the history: use one")
        }
        if from == nil, !host.isEmpty { throw ValidationError("--host chooses hosts of the fleet store: use it with --from") }
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
        if !host.isEmpty { parts.append("--host \(FleetAccess.hostNames(host).joined(separator: ","))") }
        if let user = root.selecting.user { parts.append("--user \(user)") }
        if let comm = root.selecting.comm { parts.append("--comm '\(comm)'") }
        if failed { parts.append("--failed") }
        return parts.joined(separator: " ")
    }

    func run() async throws {
        let output = LineOutput(buffered: true)
        let json = root.json
        // Over the fleet, uids are other machines' (their names there are not this one's): numbers.
        let userName: (UInt32) -> String = from == nil ? AccountNames().user : { String($0) }
        var count = 0
        let take = { (entry: HistoryEntry) in
            if json {
                output.write(entry.json(userName: userName))
            } else {
                if count == 0 { output.write(HistoryEntry.header(hosts: entry.host != nil)) }
                output.write(entry.line(userName: userName))
            }
            count += 1
        }
        let source: String
        if let from {
            do {
                let reader = try FleetAccess.reader(from)
                source = reader.server
                try await reader.history(hostNames: FleetAccess.hostNames(host), query: try query(), take)
            } catch let error as FleetError {
                throw FleetAccess.failure(error, status: 1)
            }
        } else {
            source = path
            do {
                try HistoryReader.read(path: path, query: try query(), take)
            } catch let error as StoreError {
                FileHandleOutput.standardError("procwatch: \(error)")
                throw ExitCode(1)
            }
        }
        output.flush()
        if count == 0 {
            let selection = selectionDescribed
            FileHandleOutput.standardError(selection.isEmpty
                ? "procwatch: \(source) holds no process yet"
                : "procwatch: no process in \(source) matches \(selection)")
            throw ExitCode(1)
        }
        if output.failed { throw ExitCode(1) }
    }
}
