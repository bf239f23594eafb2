import GRDB
import ProcWatch

/// Reads the processes of a history (any store file: the daemon's, or `record`'s) that a
/// ``HistoryQuery`` selects, oldest first.
public enum HistoryReader {
    /// Opens `path` read-only (while the daemon writes it: WAL readers never wait) and calls
    /// `body` with each selected process, oldest start first.
    ///
    /// Throws one-line errors for a missing, unreadable, empty, truncated or damaged file, a
    /// file that is not SQLite, another program's database and another schema version.
    public static func read(path: String, query: HistoryQuery, _ body: (HistoryEntry) -> Void) throws(StoreError) {
        try StoreFile.reading(path) { db in try read(db, path: path, query: query, body) }
    }

    /// What a recording contributes: its clock, and whether a process without an end in it
    /// may still run.
    private struct Recording {
        var id: Int64
        var clockOffset: Int64
        var inProgress: Bool
    }

    /// One recording's selected processes by start, through the `processes_start` index
    /// (``StoreSchema/historyIndexes``): the window is a range of the indexed expression,
    /// and the order is the index's (its rowid last breaks ties).
    static func sql(_ query: HistoryQuery, descending: Bool) -> String {
        var conditions = ["recording = ?", "\(StoreSchema.processStart) >= ?", "\(StoreSchema.processStart) < ?"]
        if query.uid != nil { conditions.append("uid = ?") }
        if query.failedOnly {
            // A failed exec counts only in a process that never exec'd successfully: a shell
            // looking a program up in $PATH fails (ENOENT) in every directory before the right one.
            conditions.append("(failed = 1 OR (execs = '[]' AND id IN (SELECT process FROM events WHERE event = 'exec_failed')))")
        }
        let order = descending ? " DESC" : ""
        return """
            SELECT id, pid, ppid, comm, cmdline, exe, uid, exit_code, end_ktime_ns, cpu_user_us, cpu_system_us,
                   \(StoreSchema.processStart) AS start_ktime
            FROM processes WHERE \(conditions.joined(separator: " AND "))
            ORDER BY \(StoreSchema.processStart)\(order), id\(order)
            """
    }

    private static func read(_ db: Database, path: String, query: HistoryQuery, _ body: (HistoryEntry) -> Void) throws {
        let recordings = try Row.fetchAll(db, sql: "SELECT id, clock_offset_ns, ended FROM meta ORDER BY id").map { row in
            let id: Int64 = row["id"]
            let ended: String? = row["ended"]
            return Recording(id: id, clockOffset: row["clock_offset_ns"],
                             inProgress: ended == nil && RecordingLock.isHeld(path: path, recording: id))
        }
        guard let limit = query.limit else {
            for recording in recordings {
                try select(db, recording, query, descending: false) { body($0); return true }
            }
            return
        }
        // The newest `limit`: read backwards until enough match, then shown oldest first.
        var newest: [HistoryEntry] = []
        for recording in recordings.reversed() where newest.count < limit {
            try select(db, recording, query, descending: true) { entry in
                newest.append(entry)
                return newest.count < limit
            }
        }
        newest.reversed().forEach(body)
    }

    /// Calls `take` with each process of `recording` the query selects, while it returns true.
    private static func select(_ db: Database, _ recording: Recording, _ query: HistoryQuery, descending: Bool,
                               _ take: (HistoryEntry) -> Bool) throws {
        var arguments: StatementArguments = [
            recording.id,
            query.since.map { $0 - recording.clockOffset } ?? Int64.min,
            query.until.map { $0 - recording.clockOffset } ?? Int64.max,
        ]
        if let uid = query.uid { arguments += [Int64(uid)] }
        let rows = try Row.fetchCursor(db, sql: sql(query, descending: descending), arguments: arguments)
        while let row = try rows.next() {
            let entry = entry(row, recording)
            guard query.matchesName(entry) else { continue }
            if !take(entry) { return }
        }
    }

    private static func entry(_ row: Row, _ recording: Recording) -> HistoryEntry {
        let end: Int64? = row["end_ktime_ns"]
        let state: HistoryEntry.State
        if let code: Int64 = row["exit_code"] {
            state = .ended(ExitStatus(waitStatus: UInt32(truncatingIfNeeded: code)))
        } else {
            state = recording.inProgress ? .running : .unknown
        }
        let uid: Int64? = row["uid"]
        return HistoryEntry(
            id: row["id"], recording: recording.id, start: (row["start_ktime"] as Int64) + recording.clockOffset,
            end: end.map { $0 + recording.clockOffset }, uid: uid.map { UInt32(truncatingIfNeeded: $0) },
            pid: row["pid"], ppid: row["ppid"], comm: row["comm"], commandLine: ReportReader.strings(row["cmdline"]) ?? [],
            executable: row["exe"], cpuUserMicroseconds: row["cpu_user_us"], cpuSystemMicroseconds: row["cpu_system_us"],
            state: state)
    }
}
