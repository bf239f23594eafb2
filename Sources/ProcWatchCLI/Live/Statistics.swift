import ProcWatch

/// Counts for `-S`, `-q` and `procwatch stats`: per command, per kind, losses, failures.
struct Statistics {
    /// A column: the events of one kind, or thread forks (`Clone`), which forkstat counts apart.
    enum Column: Equatable {
        case kind(EventKind)
        case threadForks

        /// Whether the column is left out of a table in which it counts nothing: a kind only
        /// the kernel-side watchers send (`Execfail`), whose 0 from the connector would claim
        /// that no exec failed when none could be seen.
        var isShownOnlyWhenCounted: Bool {
            if case .kind(let kind) = self { !kind.isKernelKind } else { false }
        }

        /// `Fork`, `Core`, `Clone`, `UID`, `Execfail`.
        var title: String {
            switch self {
            case .threadForks: "Clone"
            case .kind(let kind) where [.uid, .gid, .sid].contains(kind): kind.name.uppercased()
            case .kind(let kind): kind.label.prefix(1).uppercased() + kind.label.dropFirst()
            }
        }
    }

    /// The columns in the order of `-e` names, `Clone` after `Comm`.
    static let layout: [Column] = EventKind.selectionOrder.flatMap { kind in
        kind == .comm ? [.kind(kind), .threadForks] : [.kind(kind)]
    }
    static let columns = layout.map(\.title)
    static let forkColumn = layout.firstIndex(of: .kind(.fork))!
    static let cloneColumn = layout.firstIndex(of: .threadForks)!
    /// The column of each kind, by ``EventKind/index`` (nil: not counted).
    private static let columnOfKind: [Int?] = (0..<EventKind.indexCount).map { index in
        layout.firstIndex { if case .kind(let kind) = $0 { kind.index == index } else { false } }
    }

    struct Row {
        var counts = [Int](repeating: 0, count: Statistics.columns.count)
        var failedExits = 0
        var total: Int { counts.reduce(0, +) }
    }

    private(set) var rows: [String: Row] = [:]
    private(set) var lost = 0
    private(set) var lossReports = 0
    private(set) var failed: [(pid: Int32, name: String, status: ExitStatus)] = []
    private(set) var events = 0

    mutating func count(_ observed: ObservedEvent) {
        let event = observed.event
        if case .lost(let count, _, _) = event.detail {
            lossReports += 1
            lost += count ?? 0
            return
        }
        events += 1
        let column: Int
        if case .fork(_, let child) = event.detail, child.isThread {
            column = Self.cloneColumn
        } else {
            guard let kind = event.detail.eventKind, let kindColumn = Self.columnOfKind[kind.index] else { return }
            column = kindColumn
        }
        // A fork is counted for the parent that forked (the child still has its name).
        let name = Self.name(observed.process)
        rows[name, default: Row()].counts[column] += 1
        if case .exit(let task, let status, _, _) = event.detail, status != 0, !task.isThread {
            rows[name, default: Row()].failedExits += 1
            if failed.count < 1000 { failed.append((task.pid, name, ExitStatus(waitStatus: status))) }
        }
    }

    static func name(_ process: ProcessRecord?) -> String {
        process?.programName ?? "?"
    }

    /// The end-of-run table, forkstat style, plus totals, rates, failures and losses; rates
    /// are per second of the run so far (`seconds`: from the subscription to the end or now),
    /// not of the span between the first and last event shown (one fork in a three-second
    /// run is 0.3 forks/s, not 399).
    func report(seconds: Double) -> String {
        var lines: [String] = []
        let sorted = rows.sorted { ($0.value.total, $1.key) > ($1.value.total, $0.key) }
        var totals = [Int](repeating: 0, count: Self.columns.count)
        for row in sorted.map(\.value) {
            for index in totals.indices { totals[index] += row.counts[index] }
        }
        let shown = Self.layout.indices.filter { !Self.layout[$0].isShownOnlyWhenCounted || totals[$0] > 0 }
        // At least 7 wide (forkstat's), wider for a longer title.
        let widths = Self.columns.map { max(7, $0.count) }
        func line(_ counts: [Int], _ total: Int, _ name: String) -> String {
            shown.map { left("\(counts[$0])", widths[$0]) }.joined(separator: " ") + " " + left("\(total)", 7) + " " + name
        }
        lines.append(shown.map { left(Self.columns[$0], widths[$0]) }.joined(separator: " ") + " " + left("Total", 7) + " Process")
        for (name, row) in sorted { lines.append(line(row.counts, row.total, name)) }
        lines.append(line(totals, totals.reduce(0, +), "(all)"))
        if seconds > 0 {
            // Forks/s counts what the Fork column counts; thread forks (Clone) apart.
            let clones = totals[Self.cloneColumn]
            lines.append("\(events) events in \(TextRenderer.seconds(seconds)); \(Self.rate(totals[Self.forkColumn], seconds)) forks/s"
                         + (clones > 0 ? ", \(Self.rate(clones, seconds)) clones/s" : ""))
        }
        let forkers = rows.filter { $0.value.counts[Self.forkColumn] > 0 }
            .sorted { $0.value.counts[Self.forkColumn] > $1.value.counts[Self.forkColumn] }.prefix(5)
        if !forkers.isEmpty {
            lines.append("Top forkers: " + forkers.map { "\($0.key) (\($0.value.counts[Self.forkColumn]))" }.joined(separator: ", "))
        }
        lines.append("Failed exits: \(failed.count)" + (failed.isEmpty ? "" : ": " + failed.prefix(10)
            .map { "\($0.name) [\($0.pid)] \($0.status)" }.joined(separator: ", ") + (failed.count > 10 ? ", …" : "")))
        lines.append("Lost events: \(lost)" + (lossReports > 0 ? " (\(lossReports) loss reports)" : ""))
        return lines.joined(separator: "\n")
    }

    /// `count` per second: to a tenth below 100 (`0.3`), whole above (`11042`).
    static func rate(_ count: Int, _ seconds: Double) -> String {
        let value = Double(count) / seconds
        if value >= 100 { return "\(Int(value.rounded()))" }
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    private func left(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }
}
