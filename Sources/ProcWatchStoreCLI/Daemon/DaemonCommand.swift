import ArgumentParser
import ProcWatchCLI
import Logging
import ProcWatchDaemon

/// `procwatch daemon`: see ``StoreCommandConfigurations/daemon``.
struct DaemonCommand: AsyncParsableCommand {
    static let configuration = StoreCommandConfigurations.daemon

    @Option(name: .long, help: ArgumentHelp("The configuration file (YAML; default /etc/procwatch/daemon.yaml, read when it exists). Example: --config /etc/procwatch/daemon.yaml", valueName: "FILE"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Where the history is kept (default /var/lib/procwatch). Example: --state-dir /tmp/pw", valueName: "DIR"))
    var stateDir: String?

    @Option(name: .long, help: ArgumentHelp("The clients' Unix socket (default /run/procwatch/procwatch.sock). Example: --socket /tmp/pw.sock", valueName: "PATH"))
    var socket: String?

    @Option(name: .long, help: ArgumentHelp("The socket's group, whose members see every event (default: none, only root does). Example: --socket-group adm", valueName: "GROUP"))
    var socketGroup: String?

    @Option(name: .long, help: ArgumentHelp("Serve Prometheus metrics on this loopback address. Example: --metrics 127.0.0.1:9464", valueName: "ADDRESS:PORT"))
    var metrics: String?

    @Option(name: .long, help: ArgumentHelp("How long the history keeps events (s, m, h, d, w; 0: forever; default 14d). Example: --keep 36h", valueName: "AGE"))
    var keep: String?

    @Option(name: .long, help: ArgumentHelp("How large the history may grow (kB, MB, GB or KiB, MiB, GiB; 0: unbounded; default 2GiB). Example: --max-size 500MB", valueName: "SIZE"))
    var maxSize: String?

    @Option(name: .long, help: ArgumentHelp("The kinds recorded and served, as procwatch -e names them (default all; -e LIST and -E work too). Example: --events fork,exec,exit", valueName: "LIST"))
    var events: String?

    @Option(name: .long, help: ArgumentHelp("Also write every event to this PostgreSQL fleet store (the password from PGPASSWORD or ~/.pgpass, never here). Example: --sink postgresql://procwatch@db.example/procwatch", valueName: "URL"))
    var sink: String?

    /// `-e`, `-E` and `--source` are the root command's (an option both declared would be
    /// parsed into the root's), as for `record`; the root checks their values.
    @ParentCommand var root: ProcWatchCommand

    func validate() throws {
        try root.rejectOptions(notUsedBy: "daemon", used: ["-e", "-E", "--source"])
        if events != nil, root.selecting.events != nil || root.selecting.allEvents {
            throw ValidationError("--events and -e/-E both choose events: use one")
        }
    }

    /// The flags given, by the setting they set.
    var flags: [DaemonSettingKey: String] {
        let given: [(DaemonSettingKey, String?)] = [
            (.stateDir, stateDir), (.socket, socket), (.socketGroup, socketGroup), (.metrics, metrics),
            (.keep, keep), (.maxSize, maxSize), (.source, root.sourcing.source?.rawValue),
            (.events, events ?? root.selecting.events ?? (root.selecting.allEvents ? "all" : nil)), (.sink, sink),
        ]
        return given.reduce(into: [:]) { flags, pair in if let value = pair.1 { flags[pair.0] = value } }
    }

    func run() async throws {
        let configuration: DaemonConfiguration
        do {
            configuration = try DaemonConfiguration.load(path: config, flags: flags)
        } catch {
            FileHandleOutput.standardError("procwatch: \(error)")
            throw ExitCode(DaemonConfigurationError.exitStatus)
        }
        let logger = Logger(label: "procwatch.daemon", factory: { label in StreamLogHandler.standardError(label: label) })
        let status = await Daemon.run(configuration: configuration, arguments: Array(CommandLine.arguments.dropFirst()), logger: logger)
        if status != 0 { throw ExitCode(status) }
    }
}
