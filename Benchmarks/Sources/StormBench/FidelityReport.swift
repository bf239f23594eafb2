/// The table and the JSON document of `storm-bench fidelity`.
struct FidelityReport {
    var system: SystemInfo
    var runs: [FidelityRun]
    var settings: [(String, JSON)]
    var listenerLog: [String]

    static let referenceLabel = "bpftrace reference"

    static let notes = [
        "execs: the workload's successful execs the bpftrace reference saw (scripts/exec-argv.bt, same run), i.e. every",
        "  execve/execveat that returned 0 in the workload's time window by a descendant of storm-bench; exec/s: their rate.",
        "argv: those whose argv block the reference read (its denominator for the consumer columns); on the reference's",
        "  row cmdline% is argv / execs. The reference sends the first \(ReferenceLog.argvLimit) bytes of a command line: a longer one is",
        "  compared as a prefix (count in the JSON: truncated).",
        "seen: workload execs the consumer printed a line for, matched by kernel timestamp (the --json views) or by",
        "  order among the execs of the same pid since a start sentinel (text views); seen% of execs.",
        "cmdline%: the command line shown equals the reference's argv (JSON: element by element; text: joined by spaces,",
        "  control characters as spaces). A name printed instead of a command line (procwatch's comm, forkstat's comm",
        "  or <unknown>: 'name only') is never the command line.",
        "program%: the program shown is the reference's argv[0] basename: the command line's first element, or the",
        "  name printed in its place when it is that program's comm (first 15 bytes). Both shares are of argv.",
        "lost: events the consumer reported lost (forkstat cannot tell: '-'). CPU s: the consumer's (bpftrace's) user+sys.",
        "load: the 1-minute load average as the run started (the machine's other work competes for the same cores).",
        "All consumers of a run watch the same workload at once, next to bpftrace, on the same cores.",
    ]

    static let layout = TableLayout([
        ("workload", 11, true), ("run", 3, false), ("consumer", 20, true), ("execs", 6, false), ("argv", 6, false),
        ("exec/s", 6, false), ("seen", 6, false), ("seen%", 6, false), ("cmdline%", 8, false), ("program%", 8, false),
        ("name only", 9, false), ("lost", 5, false), ("CPU s", 6, false), ("load", 5, false),
    ])

    static let summaryLayout = TableLayout([
        ("workload", 11, true), ("consumer", 20, true), ("runs", 4, false),
        ("cmdline% min–max", 17, false), ("mean", 6, false), ("program% min–max", 17, false), ("mean", 6, false),
    ])

    static func referenceCells(_ run: FidelityRun) -> [String] {
        [run.workload.rawValue, "\(run.number)", referenceLabel, "\(run.execs)", "\(run.withArgv)", fixed(run.execRate, 0),
         "-", "-", percentCell(run.withArgv, of: run.execs), "-", "-", "-", run.referenceCPUSeconds.map { fixed($0, 2) } ?? "-",
         run.loadAverage.map { fixed($0, 2) } ?? "-"]
    }

    static func consumerCells(_ run: FidelityRun, _ consumer: FidelityRun.ConsumerRun) -> [String] {
        let verdict = consumer.verdict
        return [
            run.workload.rawValue, "\(run.number)", consumer.consumer.label, "\(run.execs)", verdict.map { "\($0.withArgv)" } ?? "-", "-",
            verdict.map { "\($0.seen)" } ?? "-", verdict.map { percentCell($0.seen, of: run.execs) } ?? "-",
            verdict.map { percentCell($0.rightCommandLine, of: $0.withArgv) } ?? "-",
            verdict.map { percentCell($0.rightProgram, of: $0.withArgv) } ?? "-",
            verdict.map { "\($0.nameOnly)" } ?? "-", consumer.lost.map(String.init) ?? "-",
            consumer.cpuSeconds.map { fixed($0, 2) } ?? "-", run.loadAverage.map { fixed($0, 2) } ?? "-",
        ]
    }

    /// Lines for the progress log.
    static func summary(_ run: FidelityRun) -> [String] {
        var lines = [layout.line(referenceCells(run)).trimmingSpaces + (run.failure.map { "  FAILED: \($0)" } ?? "")]
        for consumer in run.consumers {
            lines.append(layout.line(consumerCells(run, consumer)).trimmingSpaces + (consumer.failure.map { "  FAILED: \($0)" } ?? ""))
        }
        return lines
    }

    /// Share per run of one consumer (nil: the reference) on one workload, as (cmdline, program).
    func shares(_ workload: Workload, _ label: String?) -> [(commandLine: Double, program: Double?)] {
        runs.filter { $0.workload == workload && $0.failure == nil }.compactMap { run in
            guard let label else {
                return run.execs > 0 ? (Double(run.withArgv) / Double(run.execs), nil) : nil
            }
            guard let verdict = run.consumers.first(where: { $0.consumer.label == label })?.verdict, verdict.withArgv > 0 else { return nil }
            return (Double(verdict.rightCommandLine) / Double(verdict.withArgv), Double(verdict.rightProgram) / Double(verdict.withArgv))
        }
    }

    func summaryRows() -> [[String]] {
        var rows: [[String]] = []
        for workload in Workload.allCases where runs.contains(where: { $0.workload == workload }) {
            var labels: [String] = []
            for run in runs where run.workload == workload {
                for consumer in run.consumers where !labels.contains(consumer.consumer.label) { labels.append(consumer.consumer.label) }
            }
            for label in [nil] + labels.map(Optional.some) {
                let shares = shares(workload, label)
                guard !shares.isEmpty else { continue }
                func range(_ values: [Double]) -> [String] {
                    guard let low = values.min(), let high = values.max() else { return ["-", "-"] }
                    let mean = values.reduce(0, +) / Double(values.count)
                    return [fixed(100 * low, 1) + "–" + fixed(100 * high, 1) + "%", fixed(100 * mean, 1) + "%"]
                }
                rows.append([workload.rawValue, label ?? Self.referenceLabel, "\(shares.count)"]
                    + range(shares.map(\.commandLine)) + range(shares.compactMap(\.program)))
            }
        }
        return rows
    }

    /// Issue #11: the kernel-side source shows the right argv for at least this share of execs.
    static let commandLineTarget = 0.999

    /// Per workload and procwatch-bpf consumer: its lowest cmdline% over the runs, and met or not.
    func targetLines() -> [String] {
        var lines: [String] = []
        for workload in Workload.allCases {
            var labels: [String] = []
            for run in runs where run.workload == workload {
                for consumer in run.consumers where consumer.consumer.kind.isBPF && !labels.contains(consumer.consumer.label) {
                    labels.append(consumer.consumer.label)
                }
            }
            for label in labels {
                let shares = shares(workload, label).map(\.commandLine)
                guard let low = shares.min() else { continue }
                lines.append("\(workload.rawValue), \(label): lowest \(fixed(100 * low, 2))% of \(shares.count) runs: "
                    + (low >= Self.commandLineTarget ? "met" : "NOT met"))
            }
        }
        return lines
    }

    func table() -> String {
        var lines = system.headerLines(title: "storm-bench fidelity: exec command lines shown, against a bpftrace reference in the same run")
        lines.append("")
        lines.append(Self.layout.header)
        for run in runs {
            lines.append(Self.layout.line(Self.referenceCells(run)))
            for consumer in run.consumers { lines.append(Self.layout.line(Self.consumerCells(run, consumer))) }
        }
        lines.append("")
        lines.append(Self.summaryLayout.header)
        for row in summaryRows() { lines.append(Self.summaryLayout.line(row)) }
        lines += reportSection("issue #11 target: cmdline% >= \(fixed(100 * Self.commandLineTarget, 1))% with --source bpf, every run", targetLines())
        lines.append("")
        lines += Self.notes
        let problems = runs.flatMap { run in
            (run.failure.map { ["\(run.workload.rawValue) \(run.number): FAILED: \($0)"] } ?? [])
                + run.notes.map { "\(run.workload.rawValue) \(run.number): \($0)" }
                + run.consumers.compactMap { consumer in consumer.failure.map { "\(run.workload.rawValue) \(run.number), \(consumer.consumer.label): FAILED: \($0)" } }
        }
        lines += reportSection("problems and notes", problems)
        lines += reportSection("listener count", listenerLog, always: true)
        return lines.joined(separator: "\n")
    }

    func json() -> JSON {
        .object(system.jsonMembers + [
            ("settings", .object(settings)),
            ("reference", .object([
                ("script", .string("scripts/exec-argv.bt")),
                ("argv_bytes_limit", .int(ReferenceLog.argvLimit)),
                ("clock", .string("nsecs (CLOCK_BOOTTIME in bpftrace 0.17), converted to CLOCK_MONOTONIC")),
            ])),
            ("runs", .array(runs.map(Self.json))),
            ("summary", .array(summaryRows().map { row in
                .object(zip(["workload", "consumer", "runs", "cmdline_range", "cmdline_mean", "program_range", "program_mean"], row).map { ($0, .string($1)) })
            })),
            ("issue11_cmdline_target", .object([
                ("share", .number(Self.commandLineTarget)),
                ("verdicts", .array(targetLines().map { .string($0) })),
            ])),
            ("notes", .array(Self.notes.map { .string($0) })),
            ("listener_count", .array(listenerLog.map { .string($0) })),
        ])
    }

    static func json(_ run: FidelityRun) -> JSON {
        .object([
            ("workload", .string(run.workload.rawValue)),
            ("run", .int(run.number)),
            ("workload_seconds", .number(rounded(run.workloadSeconds, 3))),
            ("load_average_1min", .optional(run.loadAverage)),
            ("reference_cpu_seconds", .optional(run.referenceCPUSeconds.map { rounded($0, 3) })),
            ("reference_execs", .int(run.execs)),
            ("reference_execs_with_argv", .int(run.withArgv)),
            ("reference_execs_truncated", .int(run.truncated)),
            ("consumers", .array(run.consumers.map { consumer in
                let verdict = consumer.verdict
                return .object([
                    ("consumer", .string(consumer.consumer.kind.rawValue)),
                    ("command", .array(consumer.consumer.argv.map { .string($0) })),
                    ("seen", .optional(verdict?.seen)),
                    ("right_cmdline", .optional(verdict?.rightCommandLine)),
                    ("right_program", .optional(verdict?.rightProgram)),
                    ("name_only", .optional(verdict?.nameOnly)),
                    ("cmdline_share", .optional(verdict.flatMap { $0.withArgv > 0 ? rounded(Double($0.rightCommandLine) / Double($0.withArgv), 4) : nil })),
                    ("program_share", .optional(verdict.flatMap { $0.withArgv > 0 ? rounded(Double($0.rightProgram) / Double($0.withArgv), 4) : nil })),
                    ("lost_reported", .optional(consumer.lost)),
                    ("cpu_seconds", .optional(consumer.cpuSeconds.map { rounded($0, 3) })),
                    ("wrong_examples", .array((verdict?.examples ?? []).map { .string($0) })),
                    ("failure", .optional(consumer.failure)),
                ])
            })),
            ("notes", .array(run.notes.map { .string($0) })),
            ("failure", .optional(run.failure)),
        ])
    }
}
