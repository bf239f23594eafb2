import Foundation
import ProcWatch

extension RecordingReport {
    /// The report as one JSON document: `summary`, `recordings`, `jobs`, `tree` (nested
    /// `children`), `top_commands` (`by_count`, `by_cpu`, `by_wall`), `by_container` and `failed`. Times are
    /// RFC 3339 UTC; statuses use the event contract's `{"exited": N}` / `{"signaled": N, "core": B}`.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: try encoder.encode(Document(self)), as: UTF8.self)
    }
}

/// The JSON document's shape.
private struct Document: Encodable {
    struct Summary: Encodable {
        var file: String
        var start: String, end: String, spanS: Double
        var processes: Int, failed: Int, threads: Int
        var events: [String: Int]
        var lostEvents: Int, lostReports: Int, lostByReason: [String: Int]
    }

    struct Status: Encodable {
        var exited: Int32?, signaled: Int32?, core: Bool?

        init(_ status: ExitStatus) {
            switch status {
            case .exited(let code): exited = code
            case .signaled(let signal, let dumped): (signaled, core) = (signal, dumped)
            }
        }
    }

    struct Session: Encodable {
        var id: Int64, host: String, kernel: String, command: [String]?, filters: String?
        var started: String, ended: String?, endReason: String?, taskstats: Bool, inProgress: Bool
    }

    struct Job: Encodable {
        var command: [String], rootPid: Int32, status: Status?, wallS: Double?
        var processes: Int, threads: Int, failed: Int, cpuS: Double, peakRssKb: Int64, readBytes: Int64, writeBytes: Int64
    }

    final class Node: Encodable {
        var pid: Int32, ppid: Int32, comm: String, cmdline: [String]
        var start: String, end: String?, durationS: Double?, cpuS: Double?
        var peakRssKb: Int64?, readBytes: Int64?, writeBytes: Int64?, threads: Int
        var status: Status?
        /// The host, in a report over the fleet store (absent for a recording file).
        var host: String?
        var children: [Node] = []

        init(_ process: StoredProcess) {
            pid = process.pid
            ppid = process.ppid
            comm = process.comm
            cmdline = process.commandLine
            start = StoreClock.rfc3339(unixNanoseconds: process.start)
            end = process.end.map { StoreClock.rfc3339(unixNanoseconds: $0) }
            durationS = process.durationSeconds
            cpuS = process.cpuSeconds
            peakRssKb = process.peakRSSKiB
            readBytes = process.readBytes
            writeBytes = process.writeBytes
            threads = process.threads
            status = process.status.map(Status.init)
            host = process.host
        }
    }

    struct Command: Encodable {
        var program: String, count: Int, cpuS: Double, wallS: Double
    }

    struct TopCommands: Encodable {
        var byCount: [Command], byCpu: [Command], byWall: [Command]
    }

    struct Container: Encodable {
        /// The full id, or `(host)` for processes in no container.
        var container: String, runtime: String?, processes: Int, failed: Int, cpuS: Double
        /// Its Kubernetes pod and QoS class (absent when it is in none, or was not recorded).
        var podUid: String?, podQos: String?
    }

    struct Failure: Encodable {
        var pid: Int32, cmdline: [String], comm: String, status: Status?, end: String?
        /// As ``Node/host``.
        var host: String?
    }

    var summary: Summary
    var recordings: [Session]
    var jobs: [Job]
    var tree: [Node]
    var topCommands: TopCommands
    var byContainer: [Container]
    var failed: [Failure]

    init(_ report: RecordingReport) {
        summary = Summary(
            file: report.path, start: StoreClock.rfc3339(unixNanoseconds: report.start),
            end: StoreClock.rfc3339(unixNanoseconds: report.end), spanS: report.spanSeconds,
            processes: report.processes.count, failed: report.failed.count, threads: report.threads,
            events: report.eventCounts, lostEvents: report.lostEvents, lostReports: report.lostReports,
            lostByReason: report.lostByReason)
        recordings = report.sessions.map {
            Session(id: $0.id, host: $0.host, kernel: $0.kernel, command: $0.command, filters: $0.filters,
                    started: $0.started, ended: $0.ended, endReason: $0.endReason, taskstats: $0.taskstats,
                    inProgress: $0.inProgress)
        }
        jobs = report.jobs.map {
            Job(command: $0.command, rootPid: $0.rootPID, status: $0.status.map(Status.init), wallS: $0.wallSeconds,
                processes: $0.processes, threads: $0.threads, failed: $0.failed, cpuS: $0.cpuSeconds,
                peakRssKb: $0.peakRSSKiB, readBytes: $0.readBytes, writeBytes: $0.writeBytes)
        }
        // Depth-first order with depths: a node's parent is the nearest earlier node one level up.
        var roots: [Node] = []
        var path: [Node] = []
        for (process, depth) in zip(report.processes, report.depths) {
            let node = Node(process)
            path.removeLast(max(0, path.count - depth))
            if let parent = path.last { parent.children.append(node) } else { roots.append(node) }
            path.append(node)
        }
        tree = roots
        func commands(_ key: KeyPath<RecordingReport.CommandTotals, Double>) -> [Command] {
            report.topCommands(by: key).map { Command(program: $0.program, count: $0.count, cpuS: $0.cpuSeconds, wallS: $0.wallSeconds) }
        }
        topCommands = TopCommands(byCount: commands(\.countValue), byCpu: commands(\.cpuSeconds), byWall: commands(\.wallSeconds))
        byContainer = report.byContainer.map {
            Container(container: $0.id ?? "(host)", runtime: $0.runtime, processes: $0.processes, failed: $0.failed, cpuS: $0.cpuSeconds,
                      podUid: $0.podUID, podQos: $0.podQoS)
        }
        failed = report.failed.map {
            Failure(pid: $0.pid, cmdline: $0.commandLine, comm: $0.comm, status: $0.status.map(Status.init),
                    end: $0.end.map { StoreClock.rfc3339(unixNanoseconds: $0) }, host: $0.host)
        }
    }
}
