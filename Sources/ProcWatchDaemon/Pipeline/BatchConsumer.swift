import ProcWatch

/// What the daemon's pipeline hands each kernel batch to, after the history recorded it:
/// the client socket's hub and the metrics. Called on the reader thread, once per batch;
/// must never block (a slow consumer would hold up the kernel's reader and every other one).
public protocol DaemonBatchConsumer: Sendable {
    /// Takes one batch of enriched events, in kernel order.
    func consume(_ batch: [EnrichedEvent])
}
