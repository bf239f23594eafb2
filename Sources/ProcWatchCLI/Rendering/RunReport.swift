import ProcWatch

/// The report of `procwatch run`, as text or one JSON document.
struct RunReport {
    var command: [String]
    var status: ExitStatus
    var wallSeconds: Double
    var job: Job
    var root: Int32
    /// Why taskstats figures are missing, when they are.
    var missing: String?
    /// How many taskstats exit records the kernel dropped (their tasks' figures are missing).
    var lostRecords = 0
    /// The /proc scanner's mode (`procfs`) when the events came from it; nil for the kernel's.
    var source: String?
    /// Under the /proc scanner: tasks of the pid namespace, the command's or others', that
    /// started and ended between two scans (0: none, or an unknown number when ``lostTasksUnknown``).
    var lostTasks = 0
    var lostTasksUnknown = false
    /// `-s`: programs without their arguments; `-d`: without their directory.
    var shortNames = false
    var stripDirectory = false
    /// Text lines longer than this are cut, ending in `…` (nil: whole).
    var width: Int?
    /// The limits of the run's cgroup (`--max-processes`, `--max-memory`; nil: no cgroup).
    var limits: CgroupLimits?
    /// The cgroup's own accounting, read before it was removed.
    var cgroupUsage: CgroupUsage?

    var members: [JobMember] { job.members }
    var processes: Int { members.count }
    var threads: Int { members.reduce(0) { $0 + $1.threads } }
    var failed: [JobMember] { members.filter { ($0.status.map { !$0.isSuccess }) ?? false } }
    /// The whole tree's CPU, peak RSS and I/O.
    var usage: ResourceUsage { members.usage }

    /// Members by the pid that forked them (built once: big builds have 100k processes).
    private var byParent: [Int32: [JobMember]] { Dictionary(grouping: members, by: \.parentPID) }

    /// A member's children, the busiest subtree first: a `cc` driver that used no CPU itself
    /// comes before one whose `cc1` did less work.
    func children(of member: JobMember, in index: [Int32: [JobMember]], subtrees: [SubtreeKey: UInt64]) -> [JobMember] {
        (index[member.pid] ?? []).filter { $0.start >= member.start && $0.pid != member.pid }
            .sorted { (subtrees[SubtreeKey($0)] ?? 0, $0.durationSeconds ?? 0) > (subtrees[SubtreeKey($1)] ?? 0, $1.durationSeconds ?? 0) }
    }

    /// A member by pid and fork time (pids are reused).
    struct SubtreeKey: Hashable {
        var pid: Int32, start: UInt64
        init(_ member: JobMember) { (pid, start) = (member.pid, member.start) }
    }

    /// CPU microseconds of each member with all its descendants (the members that
    /// ``children(of:in:subtrees:)`` would list under it, and theirs). Latest forks first,
    /// each added to its parent: the parent that forked it before it started, latest such.
    /// No recursion: fork chains can be deep.
    func subtreeCPU() -> [SubtreeKey: UInt64] {
        // By pid: one member per pid, but for reuse.
        let byPID = Dictionary(grouping: members, by: \.pid)
        var totals: [SubtreeKey: UInt64] = [:]
        for member in members.sorted(by: { $0.start > $1.start }) {
            let key = SubtreeKey(member)
            let total = totals[key, default: 0] + member.usage.cpuMicroseconds
            totals[key] = total
            let parent = (byPID[member.parentPID] ?? []).filter { $0.start <= member.start && $0.pid != member.pid }
                .max { $0.start < $1.start }
            if let parent { totals[SubtreeKey(parent), default: 0] += total }
        }
        return totals
    }

    static func seconds(_ value: Double) -> String { JSONRenderer.decimal(value) }

    /// CPU seconds to the millisecond. The kernel accounts CPU time (taskstats `ac_utime`,
    /// `ac_stime`, in µs) by scheduler tick, 1/CONFIG_HZ: here 4 ms (HZ=250; every figure a
    /// multiple of 4000 µs), 1 to 10 ms on other kernels; so the microseconds printed before
    /// were never there. `sysconf(_SC_CLK_TCK)` says 100 whatever the tick (USER_HZ, the
    /// unit of /proc's fields): its 10 ms would hide figures the kernel does give.
    static func cpu(_ microseconds: UInt64) -> String {
        let milliseconds = (microseconds + 500) / 1000
        var text = "\(milliseconds / 1000)."
        let fraction = "\(milliseconds % 1000)"
        text += String(repeating: "0", count: 3 - fraction.count) + fraction
        return text
    }

    /// A member's status: "running", or "exited, status unknown" when the /proc scanner saw it
    /// vanish without its zombie.
    static func statusText(_ member: JobMember) -> String {
        member.status?.description ?? (member.end == nil ? "running" : "exited, status unknown")
    }

    func text() -> String {
        var lines = ["procwatch run: " + command.joined(separator: " ")]
        lines.append("  status     \(status)")
        if let source { lines.append("  source     \(source)") }
        lines.append("  wall       \(Self.seconds(wallSeconds)) s")
        if let missing {
            lines.append("  cpu, memory and I/O: not available (\(missing))")
        } else {
            let usage = usage
            lines.append("  cpu        \(Self.cpu(usage.userMicroseconds)) s user, \(Self.cpu(usage.systemMicroseconds)) s system")
            lines += cgroupLines(.cpu)
            lines.append("  peak rss   \(usage.peakRSSKiB) KiB")
            lines += cgroupLines(.memory)
            lines.append("  storage    read \(usage.readBytes) B, written \(usage.writeBytes) B")
            lines += cgroupLines(.io)
        }
        if missing != nil { lines += [CgroupController.cpu, .memory, .io].flatMap(cgroupLines) }
        lines += limitLines()
        lines.append("  processes  \(processes) started, \(threads) threads, \(failed.count) failed")
        if lostRecords > 0 {
            lines.append("  lost       \(lostRecords) taskstats exit records: CPU, memory and I/O are undercounted")
        }
        if lostTasks > 0 || lostTasksUnknown {
            let count = lostTasksUnknown ? "an unknown number of" : "\(lostTasks)"
            // The count comes from the pid namespace's counter, which cannot say whose tasks they were.
            lines.append("  lost       \(count) tasks (this command's or others' in its pid namespace) that started and ended "
                + "between two scans of /proc (not shown)")
        }
        for member in failed.prefix(20) {
            lines.append(fitted("  failed     \(member.pid) ", name(member), " (\(Self.statusText(member)))"))
        }
        lines.append("tree (by CPU of each subtree; cpu: own, tree: with descendants):")
        var budget = 60
        let index = byParent
        let subtrees = subtreeCPU()
        func walk(_ member: JobMember, depth: Int) {
            guard budget > 0 else { return }
            budget -= 1
            let duration = member.durationSeconds.map { Self.seconds($0) + "s" } ?? "running"
            let kids = children(of: member, in: index, subtrees: subtrees)
            var cpu = ""
            if missing == nil {
                cpu = "  cpu \(Self.cpu(member.usage.cpuMicroseconds))s"
                if !kids.isEmpty { cpu += ", tree \(Self.cpu(subtrees[SubtreeKey(member)] ?? 0))s" }
            }
            lines.append(fitted(String(repeating: "  ", count: depth + 1) + "\(member.pid) ", name(member),
                                "  \(duration)\(cpu)  \(Self.statusText(member))"))
            for kid in kids { walk(kid, depth: depth + 1) }
        }
        if let top = members.first(where: { $0.pid == root }) { walk(top, depth: 0) }
        if budget <= 0 { lines.append("  … \(members.count - 60) more processes folded") }
        return lines.map { LineWidth.fit($0, columns: width) }.joined(separator: "\n")
    }

    /// How the text names a member: its command line (`-s`: the program alone; `-d`: without
    /// its directory), or `[comm]` when /proc never showed it.
    func name(_ member: JobMember) -> String {
        var commandLine = commandLine(of: member)
        if commandLine.isEmpty { return "[\(member.name)]" }
        if stripDirectory, let slash = commandLine[0].lastIndex(of: "/"), commandLine[0].index(after: slash) != commandLine[0].endIndex {
            commandLine[0] = String(commandLine[0][commandLine[0].index(after: slash)...])
        }
        return shortNames ? commandLine[0] : commandLine.joined(separator: " ")
    }

    /// `prefix`, `name` and `suffix` in one line of at most ``width`` characters: the name is
    /// what gives way (cut, ending in `…`), so the figures after it stay in view.
    func fitted(_ prefix: String, _ name: String, _ suffix: String) -> String {
        guard let width else { return prefix + name + suffix }
        let room = Swift.max(width - prefix.count - suffix.count, 8)
        return LineWidth.fit(prefix + LineWidth.fit(name, columns: room) + suffix, columns: width)
    }

    /// The member's command line as /proc gave it. The root's is known without /proc: it is
    /// the command procwatch started, which a root that exits at once (`sh -c 'exit 3'`) is
    /// often gone before /proc could show — unless the root exec'd another program since
    /// (its name is then not the command's).
    func commandLine(of member: JobMember) -> [String] {
        guard member.commandLine.isEmpty, member.pid == root, let program = command.first,
              member.name.isEmpty || member.name == Self.taskName(of: program) else { return member.commandLine }
        return command
    }

    /// The kernel's name for a task that exec'd `path`: its last component, cut to 15 bytes.
    static func taskName(of path: String) -> String {
        let base = path.split(separator: "/").last.map(String.init) ?? path
        return String(decoding: base.utf8.prefix(15), as: UTF8.self)
    }

    /// The command line for JSON: the name alone when nothing better is known.
    func commandLineOrName(_ member: JobMember) -> [String] {
        let commandLine = commandLine(of: member)
        return commandLine.isEmpty ? [member.name] : commandLine
    }

    func json() -> String {
        var object = JSONObject()
        object.strings("command", command)
        object.exitStatus("exit_status", status)
        if let source {
            object.string("source", source)
            if lostTasksUnknown { object.raw("lost_tasks", "null") } else { object.integer("lost_tasks", lostTasks) }
        }
        object.raw("wall_s", Self.seconds(wallSeconds))
        if let missing {
            // The keys the report promises are there either way: null (unknown, not zero)
            // without taskstats, and `unavailable` says why.
            for key: StaticString in ["cpu_user_s", "cpu_system_s", "peak_rss_kb", "read_bytes", "write_bytes"] {
                object.raw(key, "null")
            }
            object.string("unavailable", missing)
        } else {
            let usage = usage
            object.raw("cpu_user_s", Self.cpu(usage.userMicroseconds))
            object.raw("cpu_system_s", Self.cpu(usage.systemMicroseconds))
            object.integer("peak_rss_kb", usage.peakRSSKiB)
            object.integer("read_bytes", usage.readBytes)
            object.integer("write_bytes", usage.writeBytes)
        }
        addCgroup(to: &object)
        object.integer("processes", processes)
        object.integer("lost_records", lostRecords)
        object.integer("threads", threads)
        object.raw("failed", "[" + failed.map { member in
            var failure = JSONObject()
            failure.integer("pid", member.pid)
            failure.strings("cmdline", commandLineOrName(member))
            failure.exitStatus("status", member.status)
            return failure.finish()
        }.joined(separator: ",") + "]")
        if let top = members.first(where: { $0.pid == root }) {
            let index = byParent
            object.raw("tree", node(top, index: index, subtrees: subtreeCPU(), depth: 0))
        }
        return object.finish()
    }

    /// One node and its subtree (depth-limited: a fork chain deeper than 1000 is cut there).
    func node(_ member: JobMember, index: [Int32: [JobMember]], subtrees: [SubtreeKey: UInt64], depth: Int) -> String {
        var object = JSONObject()
        object.integer("pid", member.pid)
        object.strings("cmdline", commandLineOrName(member))
        if let duration = member.durationSeconds { object.raw("duration_s", Self.seconds(duration)) }
        object.raw("cpu_s", Self.cpu(member.usage.cpuMicroseconds))
        object.raw("tree_cpu_s", Self.cpu(subtrees[SubtreeKey(member)] ?? 0))
        if member.usage.isAccounted {
            object.integer("peak_rss_kb", member.usage.peakRSSKiB)
            object.integer("read_bytes", member.usage.readBytes)
            object.integer("write_bytes", member.usage.writeBytes)
            object.integer("read_chars", member.usage.readChars)
            object.integer("write_chars", member.usage.writeChars)
        }
        object.exitStatus("status", member.status)
        let kids = depth < 1000 ? children(of: member, in: index, subtrees: subtrees) : []
        object.raw("children", "[" + kids.map { node($0, index: index, subtrees: subtrees, depth: depth + 1) }.joined(separator: ",") + "]")
        return object.finish()
    }
}
