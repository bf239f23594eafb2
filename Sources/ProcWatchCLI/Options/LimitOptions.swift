import ArgumentParser
import ProcWatch

/// `--max-processes N` and `--max-memory SIZE`: limits the kernel enforces through a cgroup
/// of its own on a command's whole tree (`run`) or on each group (`jobs --cgroups`).
struct LimitOptions: ParsableArguments {
    @Option(name: .customLong("max-processes"), help: ArgumentHelp(
        "At most N processes and threads at once in the cgroup (run: the command's tree; jobs --cgroups: each group): a fork past it fails with EAGAIN, and the report counts the refused forks. Example: --max-processes 50",
        valueName: "N"))
    var maxProcesses: Int?

    @Option(name: .customLong("max-memory"), help: ArgumentHelp(
        "At most SIZE of memory in the cgroup (run: the command's tree; jobs --cgroups: each group), page cache included (K, M, G, T: powers of 1024): past it the kernel's OOM killer ends a process, and the report says so. Example: --max-memory 512M",
        valueName: "SIZE"))
    var maxMemory: String?

    /// The first limit option given (for a message that names it), or nil.
    var firstGiven: String? {
        maxProcesses != nil ? "--max-processes" : maxMemory != nil ? "--max-memory" : nil
    }

    func validate() throws {
        if let maxProcesses, maxProcesses < 1 {
            throw ValidationError("--max-processes takes a number of processes of at least 1, not \(maxProcesses)")
        }
        if let maxMemory, ByteSize.parse(maxMemory) == nil {
            throw ValidationError("--max-memory takes a size such as 512M, 1G or 1048576, not '\(maxMemory)'")
        }
    }

    /// The limits asked for; nil when none (`run`'s command then runs in procwatch's cgroups).
    var limits: CgroupLimits? {
        guard maxProcesses != nil || maxMemory != nil else { return nil }
        return CgroupLimits(maxProcesses: maxProcesses, maxMemoryBytes: maxMemory.flatMap(ByteSize.parse))
    }
}
