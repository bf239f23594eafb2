import ProcWatch

extension RecordingReport {
    /// The text report: summary, process tree, top commands, processes by container, failed exits.
    public func text() -> String {
        var lines = ["procwatch report: \(path)"]
        lines.append("  span       \(StoreClock.rfc3339(unixNanoseconds: start)) to \(StoreClock.rfc3339(unixNanoseconds: end))"
                     + " (\(Self.seconds(spanSeconds)) s)")
        for session in sessions {
            let ended = session.endReason.map { "ended by \($0)" }
                ?? (session.inProgress ? "in progress (still being recorded)" : "cut short (no end recorded)")
            var line = "  recording  #\(session.id) on \(session.host) (\(session.kernel)), \(ended)"
            if let command = session.command { line += ": " + command.joined(separator: " ") }
            if let filters = session.filters { line += " [\(filters)]" }
            if !session.taskstats { line += "; no taskstats (CPU unknown)" }
            lines.append(line)
        }
        if sessions.count > 1, !fleet {
            lines.append("  note       \(sessions.count) recordings appended to one file: the span and figures cover them all;"
                         + " --recording N (or --last) reports one")
        }
        for job in jobs {
            lines.append("  command    \(job.command.joined(separator: " ")): \(job.status.map { "\($0)" } ?? "running")"
                         + (job.wallSeconds.map { ", wall \(Self.seconds($0)) s" } ?? "")
                         + ", cpu \(Self.seconds(job.cpuSeconds)) s, \(job.processes) processes, \(job.failed) failed")
        }
        lines.append("  processes  \(processes.count) (\(failed.count) failed, \(threads) threads)")
        let kinds = eventCounts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\($0.key) \($0.value)" }
        lines.append("  events     \(eventCounts.values.reduce(0, +))" + (kinds.isEmpty ? "" : " (\(kinds.joined(separator: ", ")))"))
        let reasons = lostByReason.keys.sorted().map { reason in
            // Not process events: exit records, so figures are missing while every process is there.
            reason == LossReason.taskstats.rawValue
                ? "taskstats \(lostByReason[reason] ?? 0): exit records, CPU, memory and I/O undercounted"
                : "\(reason) \(lostByReason[reason] ?? 0)"
        }
        lines.append("  lost       \(lostEvents) events in \(lostReports) reports" + (reasons.isEmpty ? "" : " (\(reasons.joined(separator: ", ")))"))

        // Over several hosts (the fleet store), a first column names each process's host.
        let hostWidth = showsHosts ? (hosts.map(\.count).max() ?? 0) + 2 : 0
        func host(_ process: StoredProcess) -> String { showsHosts ? "  " + Self.pad(process.host ?? "-", hostWidth) : "" }
        lines.append("process tree (\(showsHosts ? "host, " : "")lifetime, CPU, exit):")
        for (process, depth) in zip(processes, depths) {
            let indent = host(process) + String(repeating: "  ", count: showsHosts ? depth : depth + 1)
            let lifetime = process.durationSeconds.map { "\(Self.seconds($0))s" } ?? "running"
            let cpu = process.cpuSeconds.map { "cpu \(Self.seconds($0))s" } ?? "cpu -"
            let status = process.status.map { "\($0)" } ?? "-"
            lines.append("\(indent)\(process.pid) \(process.displayName)  \(lifetime)  \(cpu)  \(status)")
        }
        for (title, key) in [("count", \CommandTotals.countValue), ("CPU", \.cpuSeconds), ("wall time", \.wallSeconds)] {
            lines.append("top commands by \(title):")
            lines.append("  " + Self.pad("COMMAND", 24) + Self.left("COUNT", 7) + Self.left("CPU", 12) + Self.left("WALL", 12))
            for entry in topCommands(by: key, limit: 5) {
                lines.append("  " + Self.pad(entry.program, 24) + Self.left("\(entry.count)", 7)
                             + Self.left(Self.seconds(entry.cpuSeconds) + "s", 12) + Self.left(Self.seconds(entry.wallSeconds) + "s", 12))
            }
        }
        lines.append("by container:")
        // A POD column (the pod's UID and QoS class) when some container is a Kubernetes pod's.
        let containers = byContainer
        let showsPods = containers.contains { $0.podUID != nil }
        lines.append("  " + Self.pad("CONTAINER", 14) + Self.pad("RUNTIME", 16) + Self.left("PROCESSES", 10) + Self.left("FAILED", 8) + Self.left("CPU", 12)
                     + (showsPods ? "  POD" : ""))
        for entry in containers {
            let pod = showsPods ? "  " + (entry.podUID.map { $0 + (entry.podQoS.map { " " + $0 } ?? "") } ?? "-") : ""
            lines.append("  " + Self.pad(entry.id.map { String($0.prefix(12)) } ?? "(host)", 14) + Self.pad(entry.runtime ?? "-", 16)
                         + Self.left("\(entry.processes)", 10) + Self.left("\(entry.failed)", 8) + Self.left(Self.seconds(entry.cpuSeconds) + "s", 12) + pod)
        }
        lines.append("failed exits:")
        if failed.isEmpty { lines.append("  none") }
        for process in failed {
            lines.append((showsHosts ? host(process) : "  ") + "\(process.pid) \(process.displayName)  \(process.status.map { "\($0)" } ?? "")")
        }
        return lines.joined(separator: "\n")
    }

    /// Seconds with microseconds: `0.052211`.
    static func seconds(_ value: Double) -> String {
        let micros = Int64((value * 1e6).rounded())
        let fraction = String(micros.magnitude % 1_000_000)
        return (micros < 0 ? "-" : "") + "\(micros.magnitude / 1_000_000)." + String(repeating: "0", count: 6 - fraction.count) + fraction
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? String(text.prefix(width - 1)) + " " : text + String(repeating: " ", count: width - text.count)
    }

    private static func left(_ text: String, _ width: Int) -> String {
        text.count >= width ? " " + text : String(repeating: " ", count: width - text.count) + text
    }
}
