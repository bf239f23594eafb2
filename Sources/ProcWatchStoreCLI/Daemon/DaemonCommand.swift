import ArgumentParser
import ProcWatchCLI
import Logging
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
        var settings = DaemonSettings()
        if let stateDir { settings.stateDirectory = stateDir }
        if let socket { settings.socketPath = socket }
        settings.metricsAddress = metrics
        let logger = Logger(label: "procwatch.daemon", factory: { label in StreamLogHandler.standardError(label: label) })
        let status = await Daemon.run(settings: settings, arguments: Array(CommandLine.arguments.dropFirst()), logger: logger)
        if status != 0 { throw ExitCode(status) }
    }
}
