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
    public static func run(settings: DaemonSettings, arguments: [String], logger: Logger) async -> Int32 {
        do {
            try await runThrowing(settings: settings, arguments: arguments, logger: logger)
            return 0
        } catch {
            logger.critical("\(error)")
            printError(error.description)
            return error.exitStatus
        }
    }

    private static func runThrowing(settings: DaemonSettings, arguments: [String], logger: Logger) async throws(DaemonError) {
        try StateDirectory.prepare(settings.stateDirectory)
        let historyPath = HistoryTarget.path(in: settings.stateDirectory)
        let exitRecords = (try? TaskstatsListener()).map { $0.close() } != nil
        let session = RecordingSession(arguments: arguments, command: nil, filters: nil, taskstats: exitRecords)
        let history: HistoryRecorder
        do { history = try HistoryRecorder(path: historyPath, session: session, logger: logger) } catch {
            throw .cannotCreate("procwatch: daemon: \(error)")
        }
        let pipeline = EventPipeline(backend: settings.backend, history: history, consumers: [], logger: logger)
        do { try pipeline.start() } catch {
            history.finish(reason: "error")
            throw .sourceUnavailable("procwatch: daemon: \(error)")
        }
        if let choice = pipeline.source.backendChoice { logger.notice("\(choice)") }
        logger.notice("recording into \(historyPath)")
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: pipeline)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        do { try await group.run() } catch {
            throw .sourceFailed("procwatch: daemon: \(error)")
        }
    }

    private static func printError(_ line: String) {
        let text = line + "\n"
        _ = text.withCString { write(2, $0, strlen($0)) }
    }
}
