import PostgresNIO
import ProcWatch
import ProcWatchStore

extension FleetReader {
    /// `procwatch history --from`: the processes of the hosts `hostNames` selects (all:
    /// empty) that `query` selects, ordered by when they were first seen (their start, for
    /// every process that started while recorded) across hosts, each naming its host.
    ///
    /// `--since`/`--until` are a range of `first_seen` (the `processes_start` index, or
    /// `processes_host_start` with hosts chosen); `--limit` reads backwards from the newest
    /// and stops there. A process without an end is `running` while its recording is open
    /// and its host wrote in the last 5 minutes, else `unknown`.
    public func history(hostNames: [String], query: HistoryQuery, _ body: (HistoryEntry) -> Void) async throws(FleetError) {
        let server = self.server
        let logger = self.logger
        try await reading { connection, all in
            let hosts = try FleetHost.select(hostNames, from: all, server: server)
            let sql = try Self.historySQL(query, hosts: hostNames.isEmpty ? nil : hosts.map(\.id))
            var newest: [HistoryEntry] = []
            for try await row in try await connection.query(sql, logger: logger) {
                let (host, id, pid, ppid, comm, cmdline, exe, uid, exitCode, user, system, start, end, open) =
                    try row.decode((String, Int64, Int32, Int32, String, String?, String?, Int64?, Int64?, Int64?, Int64?, Int64, Int64?, Bool).self)
                let state: HistoryEntry.State = exitCode.map { .ended(ExitStatus(waitStatus: UInt32(truncatingIfNeeded: $0))) }
                    ?? (open ? .running : .unknown)
                let entry = HistoryEntry(
                    id: id, recording: 0, start: start, end: end, uid: uid.map { UInt32(truncatingIfNeeded: $0) }, pid: pid, ppid: ppid,
                    comm: comm, commandLine: ReportReader.strings(cmdline) ?? [], executable: exe, cpuUserMicroseconds: user,
                    cpuSystemMicroseconds: system, state: state, host: host)
                guard query.matchesName(entry) else { continue }
                guard let limit = query.limit else {
                    body(entry)
                    continue
                }
                newest.append(entry)
                if newest.count == limit { break }
            }
            newest.reversed().forEach(body)
        }
    }

    /// The query: only the conditions given, so each range is one index's.
    static func historySQL(_ query: HistoryQuery, hosts: [Int32]?) throws -> PostgresQuery {
        var binds = PostgresBindings()
        func bind(_ value: some PostgresThrowingDynamicTypeEncodable) throws -> String {
            try binds.append(value)
            return "$\(binds.count)"
        }
        var conditions: [String] = []
        if let since = query.since { conditions.append("p.first_seen >= \(FleetSQL.epoch)\(try bind(since / 1000))") }
        if let until = query.until { conditions.append("p.first_seen < \(FleetSQL.epoch)\(try bind(until / 1000))") }
        if let hosts { conditions.append("p.host = ANY(\(try bind(hosts)))") }
        if let uid = query.uid { conditions.append("p.uid = \(try bind(Int64(uid)))") }
        if query.failedOnly {
            // As over SQLite: a failed exec counts only in a process that never exec'd successfully.
            conditions.append("""
                (p.failed OR (p.execs = '[]'::jsonb AND EXISTS (SELECT 1 FROM procwatch.events e
                 WHERE e.recording = p.recording AND e.process = p.id AND e.event = 'exec_failed')))
                """)
        }
        let order = query.limit != nil ? " DESC" : ""
        return PostgresQuery(unsafeSQL: """
            SELECT h.name, p.id, p.pid, p.ppid, p.comm, p.cmdline::text, p.exe, p.uid, p.exit_code, p.cpu_user_us, p.cpu_system_us,
                   coalesce(p.start_ktime_ns, p.first_seen_ktime_ns) + r.clock_offset_ns, p.end_ktime_ns + r.clock_offset_ns,
                   r.ended IS NULL AND h.last_seen > now() - interval '5 minutes'
            FROM procwatch.processes p JOIN procwatch.recordings r ON r.id = p.recording JOIN procwatch.hosts h ON h.id = p.host
            \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
            ORDER BY p.first_seen\(order), p.host\(order), p.recording\(order), p.id\(order)
            """, binds: binds)
    }
}
