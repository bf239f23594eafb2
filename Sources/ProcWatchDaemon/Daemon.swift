import Logging
import ProcWatch
import ProcWatchStore
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#endif

/// `procwatch daemon`: prepares every part in the order a failure should be found — the
/// state directory and history, the clients' socket, the metrics endpoint, then the kernel
/// subscription — and runs them as one service group until SIGTERM or SIGINT (graceful:
/// the subscription is released and the history's last events committed).
public enum Daemon {
    /// Runs the daemon with `settings` until it is told to stop; returns the exit status.
    public static func run(configuration: DaemonConfiguration, arguments: [String], logger: Logger) async -> Int32 {
        do {
            try await runThrowing(configuration: configuration, arguments: arguments, logger: logger)
            return 0
        } catch {
            logger.critical("\(error)")
            printError(error.description)
            return error.exitStatus
        }
    }

    private static func runThrowing(configuration: DaemonConfiguration, arguments: [String], logger: Logger) async throws(DaemonError) {
        let settings = configuration.settings
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
        var services: [any Service] = []
        do throws(DaemonError) {
            if let address = settings.metricsAddress {
                do {
                    services.append(try await MetricsEndpoint.bind(try MetricsAddress(parsing: address), metrics: metrics))
                } catch {
                    throw .usage("procwatch: daemon: metrics: \(error)")
                }
            }
            let pipeline = EventPipeline(backend: settings.source, history: history, consumers: [metrics], logger: logger) { source in
                if let choice = source.backendChoice { logger.notice("\(choice)") }
                logger.notice("recording into \(historyPath)")
            }
            services.insert(pipeline, at: 0)
            services.append(HistoryMaintenance(history: history, policy: RetentionPolicy(keep: settings.keep, maxBytes: settings.maxSize), metrics: metrics, logger: logger))
        } catch {
            history.finish(reason: "error")
            for case let endpoint as MetricsEndpoint in services { await endpoint.close() }
            throw error
        }
        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        do { try await group.run() } catch let error as DaemonError {
            throw error
        } catch {
            throw .sourceFailed("procwatch: daemon: \(error)")
        }
    }

    private static func printError(_ line: String) {
        let text = line + "\n"
        _ = text.withCString { write(2, $0, strlen($0)) }
    }
}
