import ArgumentParser
import ProcWatchCLI
import ProcWatchFleet
import ProcWatchStore

/// `procwatch hosts`: see ``StoreCommandConfigurations/hosts``.
struct HostsCommand: AsyncParsableCommand {
    static let configuration = StoreCommandConfigurations.hosts

    /// `--json` is the root command's option: read from there.
    @ParentCommand var root: ProcWatchCommand

    @Option(name: .long, help: ArgumentHelp(
        "The fleet store (default: $PROCWATCH_FLEET; no password in it: PGPASSWORD, ~/.pgpass or a pg_service.conf service). Example: --from postgresql://reader@db.example/procwatch",
        valueName: "URL"))
    var from: String?

    func validate() throws {
        try root.rejectOptions(notUsedBy: "hosts", used: ["--json"])
    }

    func run() async throws {
        guard let text = from ?? FleetEnvironment.current[FleetAccess.variable].flatMap({ $0.isEmpty ? nil : $0 }) else {
            FileHandleOutput.standardError("procwatch: hosts needs the fleet store: --from postgresql://… or \(FleetAccess.variable)")
            throw ExitCode(64)
        }
        let hosts: [FleetHost]
        do { hosts = try await FleetAccess.reader(text).hosts() } catch {
            throw FleetAccess.failure(error, status: 1)
        }
        let now = StoreClock.unixNanoseconds()
        let output = LineOutput(buffered: true)
        if !root.json, !hosts.isEmpty { output.write(FleetHost.header) }
        for host in hosts { output.write(root.json ? host.json(now: now) : host.line(now: now)) }
        output.flush()
        if hosts.isEmpty {
            FileHandleOutput.standardError("procwatch: \(try FleetURL(parsing: text).redacted) holds no host yet")
            throw ExitCode(1)
        }
        if output.failed { throw ExitCode(1) }
    }
}
