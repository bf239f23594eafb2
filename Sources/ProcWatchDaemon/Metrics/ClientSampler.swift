import ServiceLifecycle

/// Copies the clients' state from the hub into the metrics every ``interval``: who is
/// connected (their queue-depth series come and go with them), each one's queue depth, the
/// events dropped for slow ones (`lost` by reason `backlog`) and the refused requests.
/// Sampled off the reader's path: the hub keeps these counts on its own event loop anyway.
final class ClientSampler: Service {
    /// Time between samples.
    static let interval = Duration.seconds(1)

    private let hub: ClientHub
    private let metrics: DaemonMetrics

    init(hub: ClientHub, metrics: DaemonMetrics) {
        self.hub = hub
        self.metrics = metrics
    }

    func run() async throws {
        var known: [Int: Int] = [:]  // client id → events dropped for it so far
        var refused = 0
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let status = await hub.snapshot()
            var present: [Int: Int] = [:]
            for client in status.clients {
                if known[client.id] == nil { metrics.clientConnected(id: UInt64(client.id)) }
                metrics.queueDepth(id: UInt64(client.id), depth: client.pending)
                let dropped = client.dropped - (known[client.id] ?? 0)
                if dropped > 0 { metrics.lost(dropped, reason: .backlog) }
                present[client.id] = client.dropped
            }
            for id in known.keys where present[id] == nil { metrics.clientDisconnected(id: UInt64(id)) }
            known = present
            for _ in refused..<max(refused, status.refused) { metrics.requestRefused() }
            refused = max(refused, status.refused)
            try? await Task.sleep(for: Self.interval)
        }
    }
}
