/// How much history the daemon keeps: rows by age, the file by size. Either, both or neither.
public struct RetentionPolicy: Sendable, Hashable {
    /// Events older than this go, and processes that ended longer ago than this (never one
    /// that may still run). nil: kept whatever their age.
    public var keep: Duration?
    /// The bytes the file's pages in use may hold (`(page_count − freelist_count) ×
    /// page_size`); past it, the oldest rows go until it is under. nil: no bound.
    public var maxBytes: Int64?

    /// A policy.
    public init(keep: Duration?, maxBytes: Int64?) {
        self.keep = keep
        self.maxBytes = maxBytes
    }
}
