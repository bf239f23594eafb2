import Logging
import ProcWatchStore
import ServiceLifecycle
import Synchronization

/// Keeps the history within its retention (age and size) and reports its size: every
/// ``interval`` a round of pruning steps, each small enough (``HistoryPruner``) that the
/// recorder's commits never wait long, with a short pause between steps.
final class HistoryMaintenance: Service, Sendable {
    /// Time between rounds.
    static let interval = Duration.seconds(5)
    /// Pause between two steps of one round: the recorder commits in between.
    static let pause = Duration.milliseconds(20)

    private let history: HistoryRecorder
    /// The pruner for the current policy (a reload may change it).
    private let pruner: Mutex<HistoryPruner>
    private let metrics: DaemonMetrics
    private let logger: Logger

    init(history: HistoryRecorder, policy: RetentionPolicy, metrics: DaemonMetrics, logger: Logger) {
        self.history = history
        pruner = Mutex(HistoryPruner(policy: policy))
        self.metrics = metrics
        self.logger = logger
    }

    /// Prunes to `policy` from the next round on.
    func apply(_ policy: RetentionPolicy) { pruner.withLock { $0.policy = policy } }

    func run() async throws {
        var failedBefore = false
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                try await round()
                failedBefore = false
            } catch {
                // Logged once per run of failures: the recorder reports the disk itself.
                if !failedBefore { logger.error("pruning the history failed: \(error)") }
                failedBefore = true
            }
            try? await Task.sleep(for: Self.interval)
        }
    }

    /// Prunes until nothing more is due (or shutdown), then records the file's size.
    private func round() async throws {
        var removed = (events: 0, processes: 0, jobs: 0)
        var usedBytes: Int64?
        let pruner = self.pruner.withLock { $0 }
        while let step = try history.prune(pruner) {
            removed.events += step.events
            removed.processes += step.processes
            removed.jobs += step.jobs
            usedBytes = step.usedBytes
            guard step.more, !Task.isShuttingDownGracefully, !Task.isCancelled else { break }
            try await Task.sleep(for: Self.pause)
        }
        if removed.events + removed.processes + removed.jobs > 0 {
            logger.info("retention removed \(removed.events) events, \(removed.processes) processes, \(removed.jobs) jobs")
        }
        if let usedBytes { metrics.historySize(bytes: Int(usedBytes)) }
    }
}
