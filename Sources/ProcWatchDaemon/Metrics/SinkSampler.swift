import ProcWatchFleet
import ServiceLifecycle

/// Copies the fleet sink's status into the metrics every ``interval``: its lag, the bytes it
/// spools, and the events it dropped (`lost` by reason `spool`).
final class SinkSampler: Service {
    /// Time between samples.
    static let interval = Duration.seconds(1)

    private let sink: FleetSink
    private let metrics: DaemonMetrics

    init(sink: FleetSink, metrics: DaemonMetrics) {
        self.sink = sink
        self.metrics = metrics
    }

    func run() async throws {
        var dropped = 0
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let status = sink.status
            metrics.sinkSampled(lagSeconds: status.lagSeconds, spooledBytes: status.spooledMemoryBytes + status.spooledFileBytes)
            metrics.lost(status.droppedEvents - dropped, reason: .spool)
            dropped = status.droppedEvents
            try? await Task.sleep(for: Self.interval)
        }
    }
}
