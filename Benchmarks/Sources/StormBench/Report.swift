/// The table and the JSON document of a run.
struct Report {
    var system: SystemInfo
    var storms: [Storm]
    var measurements: [Measurement]
    var baselines: [BaselineRun]
    var listenerLog: [String]
    var settings: [(String, JSON)]
    var raisedAtStart: Bool

    static let notes = [
        "expected: ground truth, children made x 2 (fork, exit) or x 3 (fork, exec, exit in the exec storm).",
        "received [storm]: only the storm's events, told apart by the forkers' pids (text and JSON views);",
        "  [rows]: the statistics rows naming the storm's processes (storm-bench, true, forkstat's <unknown>);",
        "  [all]: every fork+exit (+exec) the consumer counted. [rows] and [all] may include background events.",
        "text views and JSON write stdout to a file, which is then counted.",
        "lost: events the consumer itself reported lost (procwatch: lost events; C floor: per-CPU sequence gaps;",
        "  forkstat cannot tell: '-'). The C floor makes one blocking recv per event on the default receive buffer.",
        "CPU: the consumer's user+sys (wait4); s/100k ev: per 100k events it handled (storm and background, all kinds).",
        "RSS: peak resident set, VmHWM read before SIGINT (wait4's ru_maxrss, in the JSON, also counts storm-bench's",
        "  own RSS: posix_spawn's child shares its parent's memory until exec).",
        "storm/s: children per second the forkers made during that run; %base: that rate as a share of the storm's",
        "  rate with no consumer at all (the mean of the baseline runs just before and after it, see below).",
        "us/child: the consumer's CPU (user+sys: the scheduler's per-thread sums, else /proc/PID/stat's ticks) from the",
        "  storm's start until it caught up, per child the storm made, in microseconds (its start-up, e.g. loading the",
        "  BPF programs, left out; CPU s has it).",
        "procwatch rows pass --source connector, procwatch-bpf rows --source bpf; procwatch-bpf record records the",
        "  whole host into a temporary SQLite file, read back with `procwatch report FILE --json` ([all], lost).",
        "busy: seconds the consumer kept using CPU after the storm ended (catching up).",
        "named: exec storm only, share of the children whose exit names 'true' (of all children, losses count as wrong).",
        "forkstat 0.03.01 prints no statistics with -q alone: '-q -S' is used.",
    ]

    static let layout = TableLayout([
        ("storm", 16, true), ("consumer", 26, true), ("expected", 9, false), ("received", 14, false), ("recv%", 7, false),
        ("lost", 7, false), ("CPU s", 7, false), ("s/100k ev", 9, false), ("RSS MiB", 8, false), ("busy s", 7, false),
        ("named", 7, false), ("storm/s", 8, false), ("%base", 6, false), ("us/child", 8, false),
    ])

    static func cells(_ m: Measurement) -> [String] {
        let received = m.received.map { "\($0) [\(m.observation!.scope.rawValue)]" } ?? "-"
        let share = m.received.map { percentCell($0, of: m.expected) } ?? "-"
        var lost = m.observation.map { $0.lost.map(String.init) ?? "-" } ?? "-"
        if let uncounted = m.observation?.uncountedLossReports, uncounted > 0 { lost += "+?" }
        return [
            m.storm.name, m.consumer.label, "\(m.expected)", received, share, lost,
            m.cpuSeconds.map { fixed($0, 2) } ?? "-", m.cpuPer100k.map { fixed($0, 2) } ?? "-",
            m.peakRSSMiB.map { fixed($0, 1) } ?? "-", fixed(m.busyAfterStorm, 1) + (m.idleTimedOut ? "!" : ""),
            m.namedShare.map { fixed(100 * $0, 1) + "%" } ?? "-", fixed(m.stormRate, 0),
            m.shareOfBaseline.map { fixed(100 * $0, 1) + "%" } ?? "-", m.cpuMicrosecondsPerChild.map { fixed($0, 2) } ?? "-",
        ]
    }

    /// One line for the progress log.
    static func summary(_ m: Measurement) -> String {
        var text = layout.line(cells(m)).trimmingSpaces
        if let failure = m.failure { text += "  FAILED: \(failure)" }
        if let note = m.listenerNote { text += "  (\(note))" }
        return text
    }

    /// One line for the progress log about a baseline run.
    static func baselineSummary(_ run: BaselineRun) -> String {
        "\(run.storm.name), no consumer: \(run.children) children, \(fixed(run.rate, 0)) storm/s"
            + (run.listenerCountRaised ? " (the connector's listener count was raised)" : "")
            + (run.failure.map { "  FAILED: \($0)" } ?? "")
    }

    /// The baseline runs, one line per storm.
    var baselineLines: [String] {
        var names: [String] = []
        for run in baselines where !names.contains(run.storm.name) { names.append(run.storm.name) }
        return names.map { name in
            let runs = baselines.filter { $0.storm.name == name }
            let rates = runs.filter { $0.failure == nil }.map(\.rate)
            let mean = rates.isEmpty ? "-" : fixed(rates.reduce(0, +) / Double(rates.count), 0)
            let raised = runs.filter(\.listenerCountRaised).count
            return "\(name): " + runs.map { $0.failure == nil ? fixed($0.rate, 0) : "failed" }.joined(separator: " ")
                + " storm/s, mean \(mean)" + (raised > 0 ? " (\(raised) with the connector's listener count raised)" : "")
        }
    }

    func table() -> String {
        var lines: [String] = []
        lines += system.headerLines(title: "storm-bench: fork storms against cn_proc consumers")
        lines.append("")
        lines.append(Self.layout.header)
        for m in measurements { lines.append(Self.layout.line(Self.cells(m))) }
        lines += reportSection("baseline, no consumer (children per second, in run order)", baselineLines)
        lines += IssueTargets(measurements: measurements).lines
        lines.append("")
        lines += Self.notes
        let problems = measurements.compactMap { m in m.failure.map { "\(m.storm.name), \(m.consumer.label): \($0)" } }
            + measurements.flatMap { m in (m.observation?.notes ?? []).map { "\(m.storm.name), \(m.consumer.label): \($0)" } }
        lines += reportSection("problems", problems)
        lines += reportSection("listener count", listenerLog, always: true)
        return lines.joined(separator: "\n")
    }

    func json() -> JSON {
        .object(system.jsonMembers + [
            ("settings", .object(settings)),
            ("results", .array(measurements.map(Self.json))),
            ("baselines", .array(baselines.map(\.json))),
            ("issue11_targets", IssueTargets(measurements: measurements).json),
            ("notes", .array(Self.notes.map { .string($0) })),
            ("listener_count", .object([
                ("raised_at_start", .bool(raisedAtStart)),
                ("log", .array(listenerLog.map { .string($0) })),
            ])),
        ])
    }

    static func json(_ m: Measurement) -> JSON {
        var members: [(String, JSON)] = [
            ("storm", .string(m.storm.name)),
            ("forkers", .int(m.storm.forkers)),
            ("forks_per_forker", .int(m.storm.count)),
            ("exec", .optional(m.storm.exec)),
            ("consumer", .string(m.consumer.kind.rawValue)),
            ("label", .string(m.consumer.label)),
            ("source", .optional(m.consumer.kind.source)),
            ("command", .array(m.command.map { .string($0) })),
            ("children", .int(m.children)),
            ("storm_seconds", .number(rounded(m.stormSeconds, 3))),
            ("storm_children_per_second", .number(rounded(m.stormRate, 0))),
            ("baseline_children_per_second", .optional(m.baselineRate.map { rounded($0, 0) })),
            ("storm_rate_share_of_baseline", .optional(m.shareOfBaseline.map { rounded($0, 4) })),
            ("events_expected", .int(m.expected)),
            ("forker_pids", .array(m.forkerPIDs.map { .int($0) })),
            ("events_received", .optional(m.received)),
            ("events_handled", .optional(m.observation?.handled)),
            ("scope", .optional(m.observation?.scope.rawValue)),
            ("forks", .optional(m.observation?.forks)),
            ("execs", .optional(m.observation?.execs)),
            ("exits", .optional(m.observation?.exits)),
            ("lost_reported", .optional(m.observation?.lost)),
            ("loss_reports_without_count", .optional(m.observation?.uncountedLossReports)),
            ("exits_named_true", .optional(m.storm.exec == nil ? nil : m.observation?.namedTrue)),
            ("named_true_share", .optional(m.namedShare.map { rounded($0, 4) })),
            ("cpu_seconds", .optional(m.cpuSeconds.map { rounded($0, 3) })),
            ("cpu_seconds_per_100k_events", .optional(m.cpuPer100k.map { rounded($0, 3) })),
            ("cpu_user_seconds", .optional(m.termination.map { rounded($0.userSeconds, 3) })),
            ("cpu_system_seconds", .optional(m.termination.map { rounded($0.systemSeconds, 3) })),
            ("storm_cpu_seconds_scheduler", .optional(m.stormRuntime.map { rounded($0, 4) })),
            ("storm_cpu_user_seconds", .optional(m.stormCPU.map { rounded($0.user, 3) })),
            ("storm_cpu_system_seconds", .optional(m.stormCPU.map { rounded($0.system, 3) })),
            ("cpu_us_per_child", .optional(m.cpuMicrosecondsPerChild.map { rounded($0, 3) })),
            ("cpu_user_us_per_child", .optional(m.userMicrosecondsPerChild.map { rounded($0, 3) })),
            ("peak_rss_mib", .optional(m.peakRSSMiB.map { rounded($0, 1) })),
            ("ru_maxrss_mib", .optional(m.termination.map { rounded($0.peakRSSMiB, 1) })),
            ("busy_after_storm_seconds", .number(rounded(m.busyAfterStorm, 2))),
            ("idle_wait_timed_out", .bool(m.idleTimedOut)),
            ("termination", .optional(m.termination?.description)),
        ]
        members.append(("notes", .array((m.observation?.notes ?? []).map { .string($0) })))
        members.append(("failure", .optional(m.failure)))
        members.append(("listener_count", .optional(m.listenerNote)))
        return .object(members)
    }
}
