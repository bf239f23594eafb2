import PostgresNIO
import ProcWatch
import ProcWatchStore

extension FleetReader {
    /// `procwatch report --from`: the recordings of the hosts `hostNames` selects (all: empty)
    /// read into the report model a recording file gives (``RecordingReport``), so its text,
    /// JSON and timeline are the file's. Recordings are numbered 1, 2, … by start; each
    /// process carries its host's name. `filter.recording` is not used (a file's choice).
    public func report(hostNames: [String], filter: ReportFilter) async throws(FleetError) -> RecordingReport {
        let server = self.server
        let logger = self.logger
        return try await reading { connection, all in
            let hosts = try FleetHost.select(hostNames, from: all, server: server)
            return try await FleetReportQuery(connection: connection, logger: logger, server: server)
                .read(hosts: hosts.map(\.id), filter: filter)
        }
    }
}

/// The queries of ``FleetReader/report(hostNames:filter:)``.
private struct FleetReportQuery {
    let connection: PostgresConnection
    let logger: Logger
    let server: String

    /// A recording's clock: kernel nanoseconds plus `offset` are Unix nanoseconds.
    struct Clock {
        var number: Int64, offset: Int64, start: Int64, end: Int64
    }

    func read(hosts: [Int32], filter: ReportFilter) async throws -> RecordingReport {
        var sessions: [RecordingReport.Session] = []
        var clocks: [String: Clock] = [:]
        let rows = try await connection.query("""
            SELECT r.id::text, h.name, h.kernel, r.command::text, r.filters, \(unescaped: FleetSQL.unixMicroseconds("r.started")),
                   \(unescaped: FleetSQL.unixMicroseconds("r.ended")), r.end_reason, r.taskstats, r.started_ktime_ns,
                   r.clock_offset_ns, coalesce(r.ended_ktime_ns, (SELECT max(e.ktime_ns) FROM procwatch.events e WHERE e.recording = r.id)),
                   r.ended IS NULL AND h.last_seen > now() - interval '5 minutes'
            FROM procwatch.recordings r JOIN procwatch.hosts h ON h.id = r.host
            WHERE r.host = ANY(\(hosts)) ORDER BY r.started, r.id
            """, logger: logger)
        for try await row in rows {
            let (id, host, kernel, command, filters, started, ended, reason, taskstats, startKtime, offset, endKtime, running) =
                try row.decode((String, String, String, String?, String?, Int64, Int64?, String?, Bool, Int64, Int64, Int64?, Bool).self)
            let number = Int64(sessions.count + 1)
            clocks[id] = Clock(number: number, offset: offset, start: startKtime + offset, end: max(endKtime ?? startKtime, startKtime) + offset)
            sessions.append(RecordingReport.Session(
                id: number, host: host, kernel: kernel, command: ReportReader.strings(command), filters: filters,
                started: StoreClock.rfc3339(unixNanoseconds: started * 1000), ended: ended.map { StoreClock.rfc3339(unixNanoseconds: $0 * 1000) },
                endReason: reason, taskstats: taskstats, inProgress: ended == nil && running))
        }
        let firstStart = clocks.values.map(\.start).min() ?? 0
        let windowStart = max(filter.since?.unixNanoseconds(recordingStart: firstStart) ?? firstStart, firstStart)
        let lastEnd = clocks.values.map(\.end).max() ?? firstStart
        let windowEnd = min(filter.until?.unixNanoseconds(recordingStart: firstStart) ?? lastEnd, lastEnd)
        // Only the recordings that overlap the window are reported (a fleet holds months of them).
        let overlapping = clocks.filter { $0.value.start <= windowEnd && $0.value.end >= windowStart }
        sessions = sessions.filter { session in overlapping.values.contains { $0.number == session.id } }
        let recordings = overlapping.keys.sorted()

        // Rows are keyed by recording and id: each gets one id of the report's own (parents first).
        var ids: [String: Int64] = [:]
        var all: [StoredProcess] = []
        var recordingEnd: [Int64: Int64] = [:]
        let processes = try await connection.query("""
            SELECT p.recording::text, h.name, p.id, p.parent, p.pid, p.ppid, p.comm, p.cmdline::text, p.start_ktime_ns,
                   p.first_seen_ktime_ns, p.end_ktime_ns, p.exit_code, p.cpu_user_us + coalesce(p.cpu_system_us, 0),
                   p.peak_rss_kb, p.read_bytes, p.write_bytes, p.threads,
                   p.container_id, p.container_runtime, p.pod_uid, p.pod_qos
            FROM procwatch.processes p JOIN procwatch.hosts h ON h.id = p.host
            WHERE p.recording = ANY(\(recordings)::uuid[]) ORDER BY p.recording, p.id
            """, logger: logger)
        for try await row in processes {
            let (recording, host, rowID, parent, pid, ppid, comm, cmdline, startKtime, firstSeen, endKtime, exitCode, cpu, rss, read, write, threads,
                 containerID, containerRuntime, podUID, podQoS) =
                try row.decode((String, String, Int64, Int64?, Int32, Int32, String, String?, Int64?, Int64, Int64?, Int64?, Int64?, Int64?, Int64?, Int64?, Int,
                                String?, String?, String?, String?).self)
            guard let clock = overlapping[recording] else { continue }
            let id = Int64(ids.count + 1)
            ids["\(recording)/\(rowID)"] = id
            let process = StoredProcess(
                id: id, parent: parent.flatMap { ids["\(recording)/\($0)"] }, pid: pid, ppid: ppid, comm: comm,
                commandLine: ReportReader.strings(cmdline) ?? [], start: (startKtime ?? firstSeen) + clock.offset,
                end: endKtime.map { $0 + clock.offset }, startKnown: startKtime != nil,
                status: exitCode.map { ExitStatus(waitStatus: UInt32(truncatingIfNeeded: $0)) },
                cpuSeconds: cpu.map { Double($0) / 1e6 }, peakRSSKiB: rss, readBytes: read, writeBytes: write, threads: threads,
                containerID: containerID, containerRuntime: containerRuntime, podUID: podUID, podQoS: podQoS, host: host)
            recordingEnd[id] = clock.end
            all.append(process)
        }
        let (ordered, depths) = ReportReader.arrange(all, recordingEnd: recordingEnd, windowStart: windowStart, windowEnd: windowEnd, filter: filter)
        let selected = Set(ordered.map(\.id))

        var counts: [String: Int] = [:]
        var lostReports = 0, lostEvents = 0
        var lostByReason: [String: Int] = [:]
        let events = try await connection.query("""
            SELECT e.event, e.recording::text, e.process, e.reason, count(*), sum(e.count)::bigint FROM procwatch.events e
            WHERE e.host = ANY(\(hosts)) AND e.recording = ANY(\(recordings)::uuid[])
              AND e.time BETWEEN \(unescaped: FleetSQL.epoch)\(windowStart / 1000) AND \(unescaped: FleetSQL.epoch)\(windowEnd / 1000 + 1)
            GROUP BY e.event, e.recording, e.process, e.reason
            """, logger: logger)
        for try await row in events {
            let (event, recording, process, reason, n, lost) = try row.decode((String, String, Int64?, String?, Int, Int?).self)
            if event == "lost" {
                lostReports += n
                lostEvents += lost ?? 0
                lostByReason[reason ?? "unknown", default: 0] += lost ?? 0
            } else if filter.selectsProcesses, !selected.contains(process.flatMap { ids["\(recording)/\($0)"] } ?? -1) {
                continue
            }
            counts[event, default: 0] += n
        }

        var jobs: [RecordingReport.JobTotals] = []
        let jobRows = try await connection.query("""
            SELECT command::text, root_pid, exit_code, wall_s, processes, threads, failed, cpu_user_us + cpu_system_us,
                   peak_rss_kb, read_bytes, write_bytes
            FROM procwatch.jobs WHERE recording = ANY(\(recordings)::uuid[]) ORDER BY start_ktime_ns
            """, logger: logger)
        for try await row in jobRows {
            let (command, rootPID, exitCode, wall, processes, threads, failed, cpu, rss, read, write) =
                try row.decode((String, Int32, Int64?, Double?, Int, Int, Int, Int64, Int64, Int64, Int64).self)
            jobs.append(RecordingReport.JobTotals(
                command: ReportReader.strings(command) ?? [], rootPID: rootPID,
                status: exitCode.map { ExitStatus(waitStatus: UInt32(truncatingIfNeeded: $0)) }, wallSeconds: wall,
                processes: processes, threads: threads, failed: failed, cpuSeconds: Double(cpu) / 1e6,
                peakRSSKiB: rss, readBytes: read, writeBytes: write))
        }
        return RecordingReport(path: server, sessions: sessions, recordingsInFile: sessions.map(\.id), start: windowStart,
                               end: max(windowEnd, windowStart), processes: ordered, depths: depths, eventCounts: counts,
                               lostReports: lostReports, lostEvents: lostEvents, lostByReason: lostByReason, jobs: jobs, fleet: true)
    }
}
