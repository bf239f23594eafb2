import ProcWatch

extension DaemonMetrics: DaemonBatchConsumer {
    /// Counts the batch (see ``record(_:)``).
    public func consume(_ batch: [EnrichedEvent]) { record(batch) }
}
