/// The limits the kernel enforces on a job's cgroup.
public struct CgroupLimits: Sendable, Equatable {
    /// At most this many processes and threads at once (`pids.max`): a fork past it fails
    /// with EAGAIN.
    public var maxProcesses: Int?
    /// At most this much memory, page cache included (v1 `memory.limit_in_bytes`, v2
    /// `memory.max`): past it the kernel reclaims, then its OOM killer ends a member.
    public var maxMemoryBytes: UInt64?

    /// Limits as given (nil: none).
    public init(maxProcesses: Int? = nil, maxMemoryBytes: UInt64? = nil) {
        self.maxProcesses = maxProcesses
        self.maxMemoryBytes = maxMemoryBytes
    }
}
