/// What the sink has done and holds, for the daemon's metrics and `record --to`'s last line.
public struct FleetSinkStatus: Sendable, Equatable {
    /// Whether it holds a working connection now.
    public var connected: Bool
    /// Seconds between now and the newest event written, while events wait; 0 when all is written.
    public var lagSeconds: Double
    /// Batches waiting (in memory and in spool files).
    public var spooledBatches: Int
    /// Bytes of batches waiting in memory.
    public var spooledMemoryBytes: Int
    /// Bytes of batches waiting in spool files.
    public var spooledFileBytes: Int
    /// Events written to the server by this sink.
    public var writtenEvents: Int
    /// Events dropped because the spool was full (each reported by a `lost` event, reason `spool`).
    public var droppedEvents: Int
    /// Events waiting (recorded, not yet written), counting only this run's batches.
    public var waitingEvents: Int
}
