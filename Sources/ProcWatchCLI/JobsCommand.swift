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

            Examples:
              procwatch jobs --group build='^make$' --group compiler='^(cc1|cc1plus)$'
              procwatch jobs --group web=uid:33 --group cron=exe:/usr/sbin/cron -D 60
              procwatch jobs --group session=pid:$$
            """)

    /// `-D` is the root command's option.
    @ParentCommand var root: ProcWatchCommand

    @Option(name: .long, help: ArgumentHelp(
        "NAME=REGEX (process or program name), NAME=exe:PATH, NAME=uid:UID or NAME=pid:PID (a root process); repeatable. Example: --group build='^make$'",
        valueName: "NAME=RULE"))
    var group: [String] = []

    @Option(name: .long, help: ArgumentHelp("Seconds between refreshes. Example: --interval 2", valueName: "SECONDS"))
    var interval: Double = 1

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
        _ = try rules()
    }

    func run() async throws {
        let groups = try JobGroups(rules: try rules())
        let source = ProcessEventSource(configuration: .init(backend: root.sourcing.backend))
        let lostRecords = Atomic<Int>(0)
        let query = try? TaskstatsQuery()
        let output = LineOutput()
        let redraw = isatty(1) == 1
        // procwatch's own process joins no group (a `pid:` rule for the shell that started
        // it, or a rule for its user, would claim it) unless --include-self.
        let ownPID: Int32? = root.selecting.includeSelf ? nil : getpid()
        let render: @Sendable () -> String = {
            var lines = [pad("GROUP", 16) + left("LIVE", 6) + left("STARTED", 9) + left("THREADS", 9) + left("FAILED", 8)
                         + left("PEAK", 6) + left("CPU", 10) + left("WALL", 10)]
            for summary in groups.summaries {
                // Exited members from their exit records, live ones asked of the kernel now.
                let live = query.map { groups.liveCPUMicroseconds(of: summary.name, using: $0) } ?? 0
                let cpu = source.exitRecordsError != nil ? "-" : RunReport.cpu(summary.usage.cpuMicroseconds + live) + "s"
                let wall = summary.wallSeconds.map { JSONRenderer.decimal($0) + "s" } ?? "-"
                lines.append(pad(summary.name, 16) + left("\(summary.live)", 6) + left("\(summary.started)", 9)
                             + left("\(summary.threads)", 9) + left("\(summary.failed)", 8) + left("\(summary.peak)", 6)
                             + left(cpu, 10) + left(wall, 10))
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
        output.write(render())
    }
}

private func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}

private func left(_ text: String, _ width: Int) -> String {
    text.count >= width ? " " + text : String(repeating: " ", count: width - text.count) + text
}
