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

    var members: [JobMember] { job.members }
    var processes: Int { members.count }
    var threads: Int { members.reduce(0) { $0 + $1.threads } }
    var failed: [JobMember] { members.filter { ($0.status.map { !$0.isSuccess }) ?? false } }
    /// The whole tree's CPU, peak RSS and I/O.
    var usage: ResourceUsage { members.usage }

    /// Members by the pid that forked them (built once: big builds have 100k processes).
    private var byParent: [Int32: [JobMember]] { Dictionary(grouping: members, by: \.parentPID) }

    func children(of member: JobMember, in index: [Int32: [JobMember]]) -> [JobMember] {
        (index[member.pid] ?? []).filter { $0.start >= member.start && $0.pid != member.pid }
            .sorted { ($0.usage.cpuSeconds, $0.durationSeconds ?? 0) > ($1.usage.cpuSeconds, $1.durationSeconds ?? 0) }
    }

    static func seconds(_ value: Double) -> String { JSONRenderer.decimal(value) }

    static func statusText(_ status: ExitStatus?) -> String { status?.description ?? "running" }

    func text() -> String {
        var lines = ["procwatch run: " + command.joined(separator: " ")]
        lines.append("  status     \(status)")
        lines.append("  wall       \(Self.seconds(wallSeconds)) s")
        if let missing {
            lines.append("  cpu, memory and I/O: not available (\(missing))")
        } else {
            let usage = usage
            lines.append("  cpu        \(Self.seconds(usage.userSeconds)) s user, \(Self.seconds(usage.systemSeconds)) s system")
            lines.append("  peak rss   \(usage.peakRSSKiB) KiB")
            lines.append("  storage    read \(usage.readBytes) B, written \(usage.writeBytes) B")
        }
        lines.append("  processes  \(processes) started, \(threads) threads, \(failed.count) failed")
        if lostRecords > 0 {
            lines.append("  lost       \(lostRecords) taskstats exit records: CPU, memory and I/O are undercounted")
        }
        for member in failed.prefix(20) {
            lines.append("  failed     \(member.pid) \(name(member)) (\(Self.statusText(member.status)))")
        }
        lines.append("tree (by CPU):")
        var budget = 60
        let index = byParent
        func walk(_ member: JobMember, depth: Int) {
            guard budget > 0 else { return }
            budget -= 1
            let duration = member.durationSeconds.map { Self.seconds($0) + "s" } ?? "running"
            lines.append(String(repeating: "  ", count: depth + 1) + "\(member.pid) \(name(member))  \(duration)"
                + (missing == nil ? "  cpu \(Self.seconds(member.usage.cpuSeconds))s" : "") + "  \(Self.statusText(member.status))")
            for kid in children(of: member, in: index) { walk(kid, depth: depth + 1) }
        }
        if let top = members.first(where: { $0.pid == root }) { walk(top, depth: 0) }
        if budget <= 0 { lines.append("  … \(members.count - 60) more processes folded") }
        return lines.joined(separator: "\n")
    }

    func name(_ member: JobMember) -> String {
        let commandLine = commandLine(of: member)
        return commandLine.isEmpty ? "[\(member.name)]" : commandLine.joined(separator: " ")
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
            object.raw("cpu_user_s", Self.seconds(usage.userSeconds))
            object.raw("cpu_system_s", Self.seconds(usage.systemSeconds))
            object.integer("peak_rss_kb", usage.peakRSSKiB)
            object.integer("read_bytes", usage.readBytes)
            object.integer("write_bytes", usage.writeBytes)
        }
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
            object.raw("tree", node(top, index: index, depth: 0))
        }
        return object.finish()
    }

    /// One node and its subtree (depth-limited: a fork chain deeper than 1000 is cut there).
    func node(_ member: JobMember, index: [Int32: [JobMember]], depth: Int) -> String {
        var object = JSONObject()
        object.integer("pid", member.pid)
        object.strings("cmdline", commandLineOrName(member))
        if let duration = member.durationSeconds { object.raw("duration_s", Self.seconds(duration)) }
        object.raw("cpu_s", Self.seconds(member.usage.cpuSeconds))
        if member.usage.isAccounted {
            object.integer("peak_rss_kb", member.usage.peakRSSKiB)
            object.integer("read_bytes", member.usage.readBytes)
            object.integer("write_bytes", member.usage.writeBytes)
            object.integer("read_chars", member.usage.readChars)
            object.integer("write_chars", member.usage.writeChars)
        }
        object.exitStatus("status", member.status)
        let kids = depth < 1000 ? children(of: member, in: index) : []
        object.raw("children", "[" + kids.map { node($0, index: index, depth: depth + 1) }.joined(separator: ",") + "]")
        return object.finish()
    }
}
