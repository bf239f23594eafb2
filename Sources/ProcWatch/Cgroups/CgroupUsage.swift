/// What the kernel accounted to a job's cgroup, read from its files before removal. A figure
/// is nil when no hierarchy here gives it (unknown, not zero).
public struct CgroupUsage: Sendable, Equatable {
    /// CPU time in user and kernel mode, in nanoseconds (v1 `cpuacct.usage_user` /
    /// `usage_sys`: counted by scheduler tick; v2 `cpu.stat` `user_usec` / `system_usec`).
    public var userNanoseconds: UInt64?, systemNanoseconds: UInt64?
    /// All CPU time, in nanoseconds, as the scheduler measured it (v1 `cpuacct.usage`, v2
    /// `cpu.stat` `usage_usec`): not tick-sampled, so it can differ from user + system.
    public var totalNanoseconds: UInt64?
    /// The most memory the cgroup held at once, page cache included (v1
    /// `memory.max_usage_in_bytes`, v2 `memory.peak`).
    public var peakMemoryBytes: UInt64?
    /// How many times the memory limit was hit (v1 `memory.failcnt`, v2 `memory.events` `max`).
    public var memoryLimitHits: UInt64?
    /// Processes the kernel's OOM killer ended in the cgroup (v1 `memory.oom_control`
    /// `oom_kill`, v2 `memory.events` `oom_kill`).
    public var oomKills: UInt64?
    /// Bytes read from and written to block devices (v1 `blkio.throttle.io_service_bytes`,
    /// v2 `io.stat`); zero where the job's files live on no block device (tmpfs, overlay on
    /// a virtual disk the controller does not see). Under v1, nil when no device is counted
    /// (``ioCountedDevices`` empty), and the sum over the counted devices otherwise.
    public var readBytes: UInt64?, writeBytes: UInt64?
    /// Under cgroup v1, the block devices (`MAJ:MIN`) whose I/O `blkio` counts; nil under v2,
    /// whose `io.stat` counts every device.
    ///
    /// v1 counts in the throttling layer (`blk_should_throtl`, block/blk-throttle.h), which
    /// returns before counting on a device whose queue has no throttling set up; since the
    /// kernel sets that up lazily (`blk_throtl_init`, called when a throttle rule is first
    /// written for the device, e.g. `MAJ:MIN 0` to a `blkio.throttle.*_device` file, which
    /// limits nothing), a device nobody set a rule for is not counted at all — the case of
    /// every disk on a host that throttles nothing (kernel 6.18 here). The hierarchy root's
    /// `blkio.throttle.io_service_bytes` lists exactly those devices: the root cgroup has a
    /// group on every device, printed only where throttling is set up.
    public var ioCountedDevices: [String]?
    /// Forks the process limit refused with EAGAIN (`pids.events` `max`).
    public var refusedForks: UInt64?

    /// Nothing known.
    public init() {}

    /// user + system, when both are known.
    public var cpuNanoseconds: UInt64? {
        guard let userNanoseconds, let systemNanoseconds else { return nil }
        return userNanoseconds + systemNanoseconds
    }

    /// The number after `key` in a `key value` file (`pids.events`, `memory.oom_control`,
    /// `memory.events`, `cpu.stat`).
    static func value(of key: String, in text: String?) -> UInt64? {
        guard let text else { return nil }
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2, fields[0] == key { return UInt64(fields[1]) }
        }
        return nil
    }

    /// The number a one-value file holds (`cpuacct.usage`, `memory.peak`).
    static func number(_ text: String?) -> UInt64? {
        text.flatMap { UInt64($0.split(separator: "\n").first ?? "") }
    }

    /// The devices (`MAJ:MIN`) a v1 `blkio.throttle.io_service_bytes` has lines for, in order.
    static func blkioDevices(_ text: String?) -> [String] {
        var devices: [String] = []
        for line in (text ?? "").split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 3, fields[0].contains(":") else { continue }
            if devices.last != String(fields[0]) { devices.append(String(fields[0])) }
        }
        return devices
    }

    /// Bytes read and written summed over devices from v1 `blkio.throttle.io_service_bytes`
    /// (`MAJ:MIN Read N` lines; its `Total` line is left out).
    static func blkioBytes(_ text: String?) -> (read: UInt64, write: UInt64)? {
        guard let text else { return nil }
        var sums: (read: UInt64, write: UInt64) = (0, 0)
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 3, let value = UInt64(fields[2]) else { continue }
            if fields[1] == "Read" { sums.read += value } else if fields[1] == "Write" { sums.write += value }
        }
        return sums
    }

    /// Bytes read and written summed over devices from v2 `io.stat`
    /// (`MAJ:MIN rbytes=N wbytes=N rios=N …` lines).
    static func ioStatBytes(_ text: String?) -> (read: UInt64, write: UInt64)? {
        guard let text else { return nil }
        var sums: (read: UInt64, write: UInt64) = (0, 0)
        for field in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let pair = field.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, let value = UInt64(pair[1]) else { continue }
            if pair[0] == "rbytes" { sums.read += value } else if pair[0] == "wbytes" { sums.write += value }
        }
        return sums
    }
}
