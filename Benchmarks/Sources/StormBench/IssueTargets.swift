/// Issue #11's storm targets, per storm, from the runs of one `storm-bench run`: the
/// kernel-side (BPF) source next to the connector.
///
/// - lost: every procwatch-bpf mode (-q, text, --json, record) reports 0 lost (the issue
///   asks it at N = 2 and 4);
/// - CPU: the consumer's CPU per storm child of `procwatch-bpf -q` at most half that of
///   `procwatch -q` (connector) in the same run;
/// - in-kernel cost: the storm's rate beside `procwatch-bpf -q` at least 90% of its rate
///   with no consumer (the connector's `procwatch -q` share beside it, for comparison);
/// - memory: the live view's peak RSS (VmHWM) with BPF under 24 MiB, the most of its -q,
///   text and --json runs.
struct IssueTargets {
    static let bpfModes: [Consumer.Kind] = [.procwatchBPFQuiet, .procwatchBPFText, .procwatchBPFJSON, .procwatchBPFRecord]
    static let liveViews: [Consumer.Kind] = [.procwatchBPFQuiet, .procwatchBPFText, .procwatchBPFJSON]
    static let cpuRatioLimit = 0.5
    static let rateShareFloor = 0.9
    static let rssLimitMiB = 24.0

    struct Row {
        var storm: Storm
        /// Lost per BPF mode that ran (nil: it failed or could not tell).
        var bpfLost: [(kind: Consumer.Kind, lost: Int?)]
        var bpfQuiet: Measurement?
        var connectorQuiet: Measurement?
        var bpfLiveRSSMiB: Double?

        var cpuRatio: Double? { ratio(\.cpuMicrosecondsPerChild) }
        var userCPURatio: Double? { ratio(\.userMicrosecondsPerChild) }

        private func ratio(_ figure: KeyPath<Measurement, Double?>) -> Double? {
            guard let bpf = bpfQuiet?[keyPath: figure], let connector = connectorQuiet?[keyPath: figure], connector > 0 else { return nil }
            return bpf / connector
        }

        /// Each target: met, not met, or nil when this run did not measure it.
        var verdicts: [(name: String, met: Bool?)] {
            [
                ("lost", bpfLost.isEmpty ? nil : bpfLost.allSatisfy { $0.lost == 0 }),
                ("cpu", cpuRatio.map { $0 <= IssueTargets.cpuRatioLimit }),
                ("rate", bpfQuiet?.shareOfBaseline.map { $0 >= IssueTargets.rateShareFloor }),
                ("rss", bpfLiveRSSMiB.map { $0 < IssueTargets.rssLimitMiB }),
            ]
        }
    }

    var rows: [Row] = []

    init(measurements: [Measurement]) {
        var names: [String] = []
        for m in measurements where !names.contains(m.storm.name) { names.append(m.storm.name) }
        for name in names {
            let runs = measurements.filter { $0.storm.name == name }
            guard runs.contains(where: { $0.consumer.kind.source == "bpf" }) else { continue }
            func run(_ kind: Consumer.Kind) -> Measurement? { runs.first { $0.consumer.kind == kind } }
            rows.append(Row(
                storm: runs[0].storm,
                bpfLost: Self.bpfModes.compactMap { kind in run(kind).map { (kind, $0.failure == nil ? $0.observation?.lost : nil) } },
                bpfQuiet: run(.procwatchBPFQuiet), connectorQuiet: run(.procwatchQuiet),
                bpfLiveRSSMiB: Self.liveViews.compactMap { run($0)?.peakRSSMiB }.max()))
        }
    }

    static let layout = TableLayout([
        ("storm", 16, true), ("bpf lost q/text/json/rec", 24, false), ("us/child bpf-q", 14, false), ("conn-q", 6, false),
        ("ratio", 5, false), ("%base bpf-q", 11, false), ("conn-q", 6, false), ("RSS bpf", 7, false), ("not met", 12, true),
    ])

    static func cells(_ row: Row) -> [String] {
        let lost = bpfModes.map { kind in row.bpfLost.first { $0.kind == kind }.map { $0.lost.map(String.init) ?? "?" } ?? "-" }
        let share: (Measurement?) -> String = { $0?.shareOfBaseline.map { fixed(100 * $0, 1) + "%" } ?? "-" }
        let missed = row.verdicts.filter { $0.met == false }.map(\.name)
        return [
            row.storm.name, lost.joined(separator: "/"),
            row.bpfQuiet?.cpuMicrosecondsPerChild.map { fixed($0, 2) } ?? "-",
            row.connectorQuiet?.cpuMicrosecondsPerChild.map { fixed($0, 2) } ?? "-",
            row.cpuRatio.map { fixed($0, 2) } ?? "-", share(row.bpfQuiet), share(row.connectorQuiet),
            row.bpfLiveRSSMiB.map { fixed($0, 1) } ?? "-", missed.isEmpty ? "none" : missed.joined(separator: ","),
        ]
    }

    /// The printed section: nothing when no BPF consumer ran.
    var lines: [String] {
        guard !rows.isEmpty else { return [] }
        return reportSection("issue #11 targets (bpf: --source bpf; conn: --source connector)", [Self.layout.header] + rows.map { Self.layout.line(Self.cells($0)) } + [
            "lost: 0 in every bpf mode (asked at N=2 and 4); ratio: us/child of procwatch-bpf -q over procwatch -q <= \(fixed(Self.cpuRatioLimit, 2));",
            "%base: storm rate beside the consumer over its rate with none, bpf-q >= \(fixed(100 * Self.rateShareFloor, 0))%; RSS bpf: the most VmHWM of",
            "procwatch-bpf -q, >file and --json, < \(fixed(Self.rssLimitMiB, 0)) MiB. '-': not measured in this run.",
        ])
    }

    var json: JSON {
        .array(rows.map { row in
            .object([
                ("storm", .string(row.storm.name)),
                ("forkers", .int(row.storm.forkers)),
                ("bpf_lost", .object(row.bpfLost.map { ($0.kind.rawValue, .optional($0.lost)) })),
                ("bpf_q_cpu_us_per_child", .optional(row.bpfQuiet?.cpuMicrosecondsPerChild.map { rounded($0, 3) })),
                ("connector_q_cpu_us_per_child", .optional(row.connectorQuiet?.cpuMicrosecondsPerChild.map { rounded($0, 3) })),
                ("cpu_per_child_ratio", .optional(row.cpuRatio.map { rounded($0, 4) })),
                ("user_cpu_per_child_ratio", .optional(row.userCPURatio.map { rounded($0, 4) })),
                ("bpf_q_storm_rate_share_of_baseline", .optional(row.bpfQuiet?.shareOfBaseline.map { rounded($0, 4) })),
                ("connector_q_storm_rate_share_of_baseline", .optional(row.connectorQuiet?.shareOfBaseline.map { rounded($0, 4) })),
                ("bpf_live_view_peak_rss_mib", .optional(row.bpfLiveRSSMiB.map { rounded($0, 1) })),
                ("met", .object(row.verdicts.map { ($0.name, $0.met.map { JSON.bool($0) } ?? .null) })),
            ])
        })
    }
}
