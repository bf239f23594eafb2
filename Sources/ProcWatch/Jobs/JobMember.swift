/// One process of a job, with what the kernel accounted for it.
public struct JobMember: Sendable, Hashable {
    /// Process id and the parent it was forked by.
    public var pid: Int32, parentPID: Int32
    /// Name and command line (latest exec).
    public var name: String, commandLine: [String]
    /// Fork and exit times (CLOCK_MONOTONIC nanoseconds); `end` is nil while it runs.
    public var start: UInt64
    public var end: UInt64? = nil
    /// How it ended.
    public var status: ExitStatus? = nil
    /// Threads it created (besides its main thread).
    public var threads = 0
    /// What the kernel accounted for it, summed over its threads' exit records (nothing
    /// without the privilege for taskstats, or while it runs).
    public var usage = ResourceUsage()

    /// Lifetime in seconds once it ended.
    public var durationSeconds: Double? {
        guard let end, end >= start else { return nil }
        return Double(end - start) / 1e9
    }
}

extension Sequence where Element == JobMember {
    /// What the kernel accounted for all these members (a job's totals): CPU and I/O summed,
    /// the largest peak RSS.
    public var usage: ResourceUsage { ResourceUsage(summing: lazy.map(\.usage)) }
}
