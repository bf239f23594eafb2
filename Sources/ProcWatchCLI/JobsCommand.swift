import ArgumentParser
import ProcWatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `procwatch jobs --group NAME=REGEX ...`: a live table of rule-defined groups.
struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "A live table of groups of processes defined by rules, updated as processes come and go.",
        discussion: """
            A process joins the group of its parent at fork and stays in it when re-parented; \
            when it execs into a program a rule claims, it moves to that group (the nearest \
            claim wins). Columns: live members, processes started, threads, failed exits, the \
            most members alive at once, CPU to the millisecond (exited members from their exit records, live ones \
            asked of the kernel; root) and wall time from first arrival to last exit once the \
            group is empty. -D and --source apply.

            With --cgroups each group also gets a cgroup of its own \
            (procwatch-jobs-PID-GROUP, cgroup v1 or v2 per controller), and a process a rule \
            claims is moved into it at the claim (its exec; a pid: root at the start): its \
            later children are born inside, in the kernel. Children it forked before the \
            move stay where they were (the table still counts them). The table adds the \
            cgroup's CPU (user + system), peak memory (page cache included) and refused \
            forks; --max-processes and --max-memory set each group's limits. On every way \
            out the processes still in a group's cgroup are moved back to procwatch's \
            cgroup, not killed, and the cgroups removed.

            Examples:
              procwatch jobs --group build='^make$' --group compiler='^(cc1|cc1plus)$'
              procwatch jobs --group web=uid:33 --group cron=exe:/usr/sbin/cron -D 60
              procwatch jobs --group session=pid:$$
              procwatch jobs --cgroups --max-processes 200 --group build='^make$'
            """)

    /// `-D` is the root command's option.
    @ParentCommand var root: ProcWatchCommand

    @Option(name: .long, help: ArgumentHelp(
        "NAME=REGEX (process or program name), NAME=exe:PATH, NAME=uid:UID or NAME=pid:PID (a root process); repeatable. Example: --group build='^make$'",
        valueName: "NAME=RULE"))
    var group: [String] = []

    @Option(name: .long, help: ArgumentHelp("Seconds between refreshes. Example: --interval 2", valueName: "SECONDS"))
    var interval: Double = 1

    @Flag(name: .long, help: ArgumentHelp(
        "Give each group a cgroup of its own: a process a rule claims is moved into it, its later children are born there; the table adds the cgroup's CPU, peak memory and refused forks. Root, or a delegated cgroup."))
    var cgroups = false

    @OptionGroup var limitOptions: LimitOptions

    func rules() throws -> [(name: String, matcher: JobGroups.Matcher)] {
        try group.map { definition in
            guard let equals = definition.firstIndex(of: "="), equals != definition.startIndex else {
                throw ValidationError("--group \(definition): write NAME=REGEX, NAME=exe:PATH, NAME=uid:UID or NAME=pid:PID")
            }
            let name = String(definition[..<equals])
            let rule = String(definition[definition.index(after: equals)...])
            if rule.hasPrefix("exe:") { return (name, .executable(String(rule.dropFirst(4)))) }
            if rule.hasPrefix("pid:") {
                guard let pid = Int32(rule.dropFirst(4)), pid > 0, kill(pid, 0) == 0 || errno == EPERM else {
                    throw ValidationError("--group \(definition): no such process")
                }
                return (name, .process(pid))
            }
            if rule.hasPrefix("uid:") {
                guard let uid = AccountNames.uid(of: String(rule.dropFirst(4))) else {
                    throw ValidationError("--group \(definition): no such user")
                }
                return (name, .uid(uid))
            }
            // Checked here, one rule at a time, so that the error names the group that is wrong.
            do { _ = try Regex(rule) } catch {
                throw ValidationError("--group \(definition): '\(rule)' is not a valid regular expression: \(error)")
            }
            return (name, .name(rule))
        }
    }

    func validate() throws {
        try root.rejectOptions(notUsedBy: "jobs", used: ["-D", "-r", "--include-self", "--source"])
        guard !group.isEmpty else { throw ValidationError("jobs needs at least one --group NAME=RULE") }
        if !(interval >= 0.01 && interval <= 1e6) {
            throw ValidationError("--interval takes a number of seconds from 0.01 to 1000000, not \(interval)")
        }
        let names = try rules().map(\.name)
        if let limit = limitOptions.firstGiven, !cgroups {
            throw ValidationError("jobs: \(limit) needs --cgroups (the limit is kept by each group's cgroup)")
        }
        if cgroups {
            // Two groups in one cgroup would mix their figures and limits.
            var seen: [String: String] = [:]
            for name in names {
                let cgroup = JobCgroup.groupName(owner: 0, group: name)
                if let other = seen[cgroup], other != name {
                    throw ValidationError("--cgroups: groups '\(other)' and '\(name)' would share one cgroup name; rename one")
                }
                seen[cgroup] = name
            }
        }
    }

    func run() async throws {
        let rules = try rules()
        let groups = try JobGroups(rules: rules)
        let source = ProcessEventSource(configuration: .init(backend: root.sourcing.backend))
        let lostRecords = Atomic<Int>(0)
        let query = try? TaskstatsQuery()
        let output = LineOutput()
        let redraw = isatty(1) == 1
        // procwatch's own process joins no group (a `pid:` rule for the shell that started
        // it, or a rule for its user, would claim it) unless --include-self.
        let ownPID: Int32? = root.selecting.includeSelf ? nil : getpid()
        let backing: JobGroupCgroups? = try cgroups ? createCgroups(for: groups, named: rules.map(\.name)) : nil
        // Every way out from here: SIGINT, SIGTERM and -D return, an error throws.
        defer { if let backing { releaseCgroups(backing) } }
        let table = JobsTable(cgroups: backing != nil)
        let render: @Sendable () -> String = {
            var lines = [table.header]
            for summary in groups.summaries {
                // Exited members from their exit records, live ones asked of the kernel now.
                let live = query.map { groups.liveCPUMicroseconds(of: summary.name, using: $0) } ?? 0
                let cpu = source.exitRecordsError != nil ? nil : summary.usage.cpuMicroseconds + live
                lines.append(table.row(summary, cpuMicroseconds: cpu, usage: backing?.usage(of: summary.name)))
            }
            let lost = lostRecords.load(ordering: .relaxed)
            if lost > 0 { lines.append("lost: \(lost) taskstats exit records (CPU undercounted)") }
            return lines.joined(separator: "\n")
        }
        try await LiveSession.run(
            source: source, kinds: [.fork, .exec, .comm, .uid, .exit],
            handle: { enriched in
                if let ownPID, enriched.event.subject?.pid == ownPID { return }
                if case .lost(let count, .taskstats, _) = enriched.event.detail {
                    lostRecords.add(Swift.max(count ?? 1, 1), ordering: .relaxed)
                }
                groups.apply(enriched)
            },
            duration: root.duration, realTime: root.realTime, tickInterval: interval,
            tick: { output.write((redraw ? "\u{1B}[H\u{1B}[2J" : "") + render() + (redraw ? "" : "\n")) },
            started: {
                // The processes running already join their groups now (rules and roots alike),
                // as if watched since birth: a rule claims a daemon that started before procwatch.
                groups.adopt((source.processTable?.records ?? []).filter { $0.pid != ownPID }, at: Clocks.monotonicNanoseconds())
            })
        // The cgroups' figures are read before the deferred release removes them.
        output.write(render())
    }

    /// Removes the cgroups stale procwatches left, then makes each group's and has it follow
    /// the groups' claims. A cgroup that cannot be made is one line and exit 2.
    private func createCgroups(for groups: JobGroups, named names: [String]) throws -> JobGroupCgroups {
        let layout = CgroupLayout.current()
        LimitedRun.removeStale(layout, command: "jobs")
        let backing: JobGroupCgroups
        do {
            backing = try JobGroupCgroups(groups: names, layout: layout, limits: limitOptions.limits ?? CgroupLimits())
        } catch {
            FileHandleOutput.standardError("procwatch: jobs: \(error)")
            throw ExitCode(2)
        }
        // Each distinct failure once: a refused move repeats at every claim.
        let reported = Mutex<Set<String>>([])
        backing.follow(groups) { error in
            let message = "procwatch: jobs: \(error)"
            if reported.withLock({ $0.insert(message).inserted }) { FileHandleOutput.standardError(message) }
        }
        return backing
    }

    /// Moves the members still in the groups' cgroups back to procwatch's and removes the
    /// cgroups, saying which could not go.
    private func releaseCgroups(_ backing: JobGroupCgroups) {
        for failure in backing.release() { FileHandleOutput.standardError("procwatch: jobs: \(failure)") }
    }
}
