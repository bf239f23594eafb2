import Logging
import ProcWatch
import ProcWatchCLI
import ProcWatchFleet
import ProcWatchStore
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#endif

/// `procwatch daemon`: prepares every part in the order a failure should be found — the
/// state directory and history, the clients' socket, the metrics endpoint — then runs them
/// as one service group with the kernel subscription, until SIGTERM or SIGINT (graceful:
/// the subscription is released, the history's last events committed, the socket removed).
/// SIGHUP reloads the configuration. Under systemd (`Type=notify`) it says when it is
/// ready, reloading and stopping.
public enum Daemon {
    /// Runs the daemon until it is told to stop; returns the exit status.
    public static func run(configuration: DaemonConfiguration, arguments: [String], logger: Logger) async -> Int32 {
        do {
            try await runThrowing(configuration: configuration, arguments: arguments, logger: logger)
            return 0
        } catch {
            // One line: the log handler writes to standard error too, so logging it as well
            // would say it twice there (and systemd's journal takes standard error).
            printError(error.description)
            return error.exitStatus
        }
    }

    private static func runThrowing(configuration: DaemonConfiguration, arguments: [String], logger: Logger) async throws(DaemonError) {
        let settings = configuration.settings
        let notifier: SystemdNotifier?
        do { notifier = try SystemdNotifier.fromEnvironment() } catch {
            throw .usage("procwatch: daemon: NOTIFY_SOCKET: \(error)")
        }
        try StateDirectory.prepare(settings.stateDirectory)
        let historyPath = HistoryTarget.path(in: settings.stateDirectory)
        let exitRecords = (try? TaskstatsListener()).map { $0.close() } != nil
        let session = RecordingSession(arguments: arguments, command: nil, filters: nil, taskstats: exitRecords)
        let metrics = DaemonMetrics(topPrograms: settings.topPrograms)
        let history: HistoryRecorder
        do {
            history = try HistoryRecorder(path: historyPath, session: session, logger: logger) { metrics.historyCommitted(through: $0) }
        } catch {
            throw .cannotCreate("procwatch: daemon: \(error)")
        }
        // SQLite gives new -wal and -shm files the database file's mode and owner; ones left
        // by an earlier run get them here.
        for file in [historyPath, historyPath + "-wal", historyPath + "-shm"] where access(file, F_OK) == 0 {
            try StateDirectory.restrict(file, mode: 0o640, group: settings.socketGroupID)
        }

        var hubSettings = ClientHubSettings(socketPath: settings.socketPath)
        hubSettings.socketMode = settings.socketMode
        hubSettings.group = settings.socketGroupID
        hubSettings.queueLimit = settings.clientQueue
        hubSettings.source = settings.source.rawValue
        hubSettings.version = ProcWatchVersion.number
        let hub = ClientHub(settings: hubSettings, logger: logger)
        var endpoint: MetricsEndpoint?
        do throws(DaemonError) {
            do { try await hub.bind() } catch {
                throw .usage("procwatch: daemon: \(error)")
            }
            if let address = settings.metricsEndpoint {
                do { endpoint = try await MetricsEndpoint.bind(address, metrics: metrics) } catch {
                    throw .usage("procwatch: daemon: \(error)")
                }
            }
        } catch {
            history.finish(reason: "error")
            await hub.close()
            throw error
        }

        let sink: FleetSink?
        do throws(DaemonError) {
            sink = try await startSink(settings, session: session, restartGap: history.restartGap, logger: logger)
        } catch {
            history.finish(reason: "error")
            await hub.close()
            throw error
        }
        let pipeline = EventPipeline(backend: settings.source, recorded: settings.events, history: history, sink: sink,
                                     consumers: [hub, metrics], logger: logger) { source in
            let backend = source.backendChoice?.backend.rawValue ?? settings.source.rawValue
            hub.sourceStarted(backend)
            if let choice = source.backendChoice { logger.notice("\(choice)") }
            logger.notice("recording into \(historyPath); clients on \(settings.socketPath)")
            try? notifier?.ready(status: "recording (\(backend)); clients on \(settings.socketPath)")
        }
        let maintenance = HistoryMaintenance(history: history, policy: RetentionPolicy(keep: settings.keep, maxBytes: settings.maxSize),
                                             metrics: metrics, logger: logger)
        let reload = await ReloadService(configuration: configuration, notifier: notifier, logger: logger) { applied in
            maintenance.apply(RetentionPolicy(keep: applied.keep, maxBytes: applied.maxSize))
            pipeline.record(applied.events)
            hub.setQueueLimit(applied.clientQueue)
        }
        var services: [any Service] = [pipeline, hub, maintenance, ClientSampler(hub: hub, metrics: metrics), reload]
        if let endpoint { services.append(endpoint) }
        if let sink { services.append(SinkSampler(sink: sink, metrics: metrics)) }
        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        do { try await group.run() } catch let error as DaemonError {
            throw error
        } catch {
            throw .sourceFailed("procwatch: daemon: \(error)")
        }
        try? notifier?.stopping()
    }

    /// The fleet sink `sink` asks for, connected once: a server that does not answer is
    /// said in one log line and the daemon starts anyway (recording locally, spooling); one
    /// that refuses for good (wrong password, foreign database, newer schema) stops it with
    /// one line and 69, for a wrong setting will not mend by waiting.
    private static func startSink(_ settings: DaemonSettings, session: RecordingSession, restartGap: EnrichedEvent?,
                                  logger: Logger) async throws(DaemonError) -> FleetSink? {
        guard let text = settings.sink else { return nil }
        let sink: FleetSink
        do {
            let url = try FleetURL(parsing: text)
            // The configuration refused a password typed on the command line already.
            let password = try FleetCredentials.password(for: url, origin: .configurationFile) { logger.warning("\($0)") }
            let limits = FleetSpoolLimits(memoryBytes: Int(settings.spoolMemory), fileBytes: settings.spoolMax,
                                          directory: settings.stateDirectory + "/spool")
            sink = FleetSink(connector: FleetConnector(url: url, password: password, logger: logger),
                             host: LocalMachine.current(procwatchVersion: ProcWatchVersion.number), session: session, limits: limits,
                             keep: settings.keep, logger: logger)
            if let restartGap { sink.record(restartGap) }
            do { try await sink.start() } catch {
                guard case .unreachable = error else { throw error }
                logger.warning("sink: \(error); recording locally and spooling until it answers")
            }
        } catch {
            throw .sinkUnusable("procwatch: daemon: sink: \(error)")
        }
        return sink
    }

    private static func printError(_ line: String) {
        let text = line + "\n"
        _ = text.withCString { write(2, $0, strlen($0)) }
    }
}

extension ClientHub: DaemonBatchConsumer {
    /// Hands the batch to the clients (see ``publish(_:)``).
    public func consume(_ batch: [EnrichedEvent]) { publish(batch) }
}
