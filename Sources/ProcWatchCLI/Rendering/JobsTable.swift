import ProcWatch

/// `procwatch jobs`' table: a header and a line per group; with `--cgroups`, the group
/// cgroup's own figures (CG CPU, CG PEAK MEM, REFUSED) next to the taskstats CPU.
struct JobsTable {
    /// Whether the groups have cgroups (the three columns are shown).
    var cgroups: Bool

    var header: String {
        var line = pad("GROUP", 16) + left("LIVE", 6) + left("STARTED", 9) + left("THREADS", 9) + left("FAILED", 8)
            + left("PEAK", 6) + left("CPU", 10)
        if cgroups { line += left("CG CPU", 10) + left("CG PEAK MEM", 13) + left("REFUSED", 9) }
        return line + left("WALL", 10)
    }

    /// A group's line: `cpuMicroseconds` is the taskstats CPU (exited and live members; nil
    /// when taskstats is unavailable), `usage` the group cgroup's accounting (user + system
    /// CPU, peak memory with page cache, forks refused; "-" for a figure no hierarchy gives).
    func row(_ summary: JobGroups.Summary, cpuMicroseconds: UInt64?, usage: CgroupUsage?) -> String {
        var line = pad(summary.name, 16) + left("\(summary.live)", 6) + left("\(summary.started)", 9)
            + left("\(summary.threads)", 9) + left("\(summary.failed)", 8) + left("\(summary.peak)", 6)
            + left(cpuMicroseconds.map { RunReport.cpu($0) + "s" } ?? "-", 10)
        if cgroups {
            line += left(usage?.cpuNanoseconds.map { RunReport.cpu(($0 + 500) / 1000) + "s" } ?? "-", 10)
                + left(usage?.peakMemoryBytes.map { "\($0 / 1024) KiB" } ?? "-", 13)
                + left(usage?.refusedForks.map(String.init) ?? "-", 9)
        }
        return line + left(summary.wallSeconds.map { JSONRenderer.decimal($0) + "s" } ?? "-", 10)
    }
}

private func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}

private func left(_ text: String, _ width: Int) -> String {
    text.count >= width ? " " + text : String(repeating: " ", count: width - text.count) + text
}
