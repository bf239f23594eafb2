/// What one ``HistoryPruner/pruneStep(_:now:)`` did.
public struct PruneResult: Sendable, Hashable {
    /// Rows deleted, per table.
    public var events = 0, processes = 0, jobs = 0
    /// Pages given back to the file system by `PRAGMA incremental_vacuum`.
    public var pagesReleased = 0
    /// `(page_count − freelist_count) × page_size` after the step.
    public var usedBytes: Int64 = 0
    /// Whether more is due now: the step stopped at its row cap, or the file is still over
    /// its size bound. Call again (soon: the recorder commits in between).
    public var more = false

    /// Rows deleted in all tables.
    public var rows: Int { events + processes + jobs }
}
