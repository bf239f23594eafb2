import ProcWatch

/// The cgroup part of `procwatch run`'s report (`--max-processes`, `--max-memory`): the
/// cgroup's own accounting next to the taskstats figures, and what the limits did.
extension RunReport {
    /// The cgroup's figure for one controller, as a line under the taskstats one.
    func cgroupLines(_ controller: CgroupController) -> [String] {
        guard let usage = cgroupUsage else { return [] }
        switch controller {
        case .cpu:
            guard let user = usage.userNanoseconds, let system = usage.systemNanoseconds else { return [] }
            let total = usage.totalNanoseconds.map { " (scheduler: \(Self.cpu(($0 + 500) / 1000)) s)" } ?? ""
            return ["  cgroup cpu \(Self.cpu((user + 500) / 1000)) s user, \(Self.cpu((system + 500) / 1000)) s system\(total)"]
        case .memory:
            guard let peak = usage.peakMemoryBytes else { return [] }
            return ["  cgroup mem \(peak / 1024) KiB peak (page cache included)"]
        case .io:
            // v1 blkio counts only the devices with throttling set up (CgroupUsage.ioCountedDevices).
            if let devices = usage.ioCountedDevices, devices.isEmpty {
                return ["  cgroup io  not counted (cgroup v1 blkio counts a device's I/O only once a throttle rule was set on it; no device has one)"]
            }
            guard let read = usage.readBytes, let written = usage.writeBytes else { return [] }
            let on = usage.ioCountedDevices.map { " on \($0.joined(separator: ", "))" } ?? ""
            let none = read == 0 && written == 0 ? " (none seen: the files may be on no block device the controller counts)" : ""
            return ["  cgroup io  read \(read) B, written \(written) B\(on)\(none)"]
        case .pids:
            return []
        }
    }

    /// The limits, the forks refused and the OOM kills.
    func limitLines() -> [String] {
        guard let limits else { return [] }
        var lines: [String] = []
        let set = [limits.maxProcesses.map { "\($0) processes" }, limits.maxMemoryBytes.map { ByteSize.describe($0) + " of memory" }]
        lines.append("  limits     " + set.compactMap { $0 }.joined(separator: ", "))
        if let maxProcesses = limits.maxProcesses {
            let refused = cgroupUsage?.refusedForks.map(String.init) ?? "unknown"
            lines.append("  refused    \(refused) forks (limit \(maxProcesses) processes: fork failed with EAGAIN)")
        }
        if let maxMemory = limits.maxMemoryBytes, let kills = cgroupUsage?.oomKills, kills > 0 {
            lines.append("  oom        memory limit \(ByteSize.describe(maxMemory)) reached: the kernel killed \(kills) process\(kills == 1 ? "" : "es") (OOM)")
        }
        return lines
    }

    /// `refused_forks`, `oom_kills` and a `cgroup` object (limits and the cgroup's own
    /// accounting); absent without a cgroup, null for a figure no hierarchy gives.
    func addCgroup(to object: inout JSONObject) {
        guard let limits else { return }
        let usage = cgroupUsage ?? CgroupUsage()
        func number(_ value: UInt64?) -> String { value.map(String.init) ?? "null" }
        func seconds(_ nanoseconds: UInt64?) -> String { nanoseconds.map { Self.cpu(($0 + 500) / 1000) } ?? "null" }
        object.raw("refused_forks", number(usage.refusedForks))
        object.raw("oom_kills", number(usage.oomKills))
        var cgroup = JSONObject()
        cgroup.raw("max_processes", limits.maxProcesses.map(String.init) ?? "null")
        cgroup.raw("max_memory_bytes", number(limits.maxMemoryBytes))
        cgroup.raw("cpu_user_s", seconds(usage.userNanoseconds))
        cgroup.raw("cpu_system_s", seconds(usage.systemNanoseconds))
        cgroup.raw("cpu_total_s", seconds(usage.totalNanoseconds))
        cgroup.raw("peak_memory_bytes", number(usage.peakMemoryBytes))
        cgroup.raw("memory_limit_hits", number(usage.memoryLimitHits))
        cgroup.raw("read_bytes", number(usage.readBytes))
        cgroup.raw("write_bytes", number(usage.writeBytes))
        // v1: the devices blkio counts (read_bytes and write_bytes null when none); v2: null, all.
        if let devices = usage.ioCountedDevices { cgroup.strings("io_devices", devices) } else { cgroup.raw("io_devices", "null") }
        object.raw("cgroup", cgroup.finish())
    }
}
