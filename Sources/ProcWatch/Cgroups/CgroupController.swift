/// The cgroup controllers a job uses, by what they give it (their names differ between
/// cgroup v1 and v2).
public enum CgroupController: String, Sendable, CaseIterable, Hashable {
    /// A process limit (`pids.max`) and the count of forks it refused (`pids.events`).
    case pids
    /// A memory limit, the peak use and the OOM kills.
    case memory
    /// CPU time: v1 `cpuacct`; v2 `cpu.stat`, which every v2 cgroup has (no controller needed).
    case cpu
    /// Bytes read and written on block devices: v1 `blkio`, v2 `io`.
    case io

    /// The controller's name in a v1 mount's options.
    var v1Name: String {
        switch self {
        case .pids: "pids"
        case .memory: "memory"
        case .cpu: "cpuacct"
        case .io: "blkio"
        }
    }

    /// The controller's name in v2's `cgroup.controllers` (nil: v2 gives it without one).
    var v2Name: String? {
        switch self {
        case .pids: "pids"
        case .memory: "memory"
        case .cpu: nil
        case .io: "io"
        }
    }
}
