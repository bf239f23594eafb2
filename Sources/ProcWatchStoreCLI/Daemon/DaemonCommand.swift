import ArgumentParser
import ProcWatchCLI
import ProcWatchDaemon

/// `procwatch daemon`: see ``StoreCommandConfigurations/daemon``.
struct DaemonCommand: AsyncParsableCommand {
    static let configuration = StoreCommandConfigurations.daemon

    @Option(name: .long, help: ArgumentHelp("The configuration file (YAML). Example: --config /etc/procwatch/daemon.yaml", valueName: "FILE"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Where the history is kept (default /var/lib/procwatch). Example: --state-dir /tmp/pw", valueName: "DIR"))
    var stateDir: String?

    @Option(name: .long, help: ArgumentHelp("The clients' Unix socket (default /run/procwatch/procwatch.sock). Example: --socket /tmp/pw.sock", valueName: "PATH"))
    var socket: String?

    @Option(name: .long, help: ArgumentHelp("Serve Prometheus metrics on this loopback address. Example: --metrics 127.0.0.1:9464", valueName: "ADDRESS:PORT"))
    var metrics: String?

    func run() async throws {
        FileHandleOutput.standardError("procwatch: daemon: not built yet")
        throw ExitCode(2)
    }
}
