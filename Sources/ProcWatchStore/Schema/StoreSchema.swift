import GRDB

/// The recording's SQLite schema, version 1. The README's "Recording schema" section
/// documents every column for people who query the file with `sqlite3`.
///
/// The version is kept twice: in `PRAGMA user_version` and in each `meta` row. Times are
/// kept as the kernel's CLOCK_MONOTONIC nanoseconds (`*_ktime_ns`, comparable within one
/// boot) and as RFC 3339 UTC text (`time`, `started`, …).
public enum StoreSchema {
    /// The schema version this procwatch writes and reads.
    public static let version = 1

    /// `PRAGMA application_id`: "pwch".
    static let applicationID: Int32 = 0x7077_6368

    /// Adds the `events` columns a file was written without, so `record` can append to it:
    /// those version 1 gained before its first release (`what` and `data`, for `unknown`
    /// events), and those of contract fields added since (the kernel-side watchers' `exec`
    /// and `exit` details, `exec_failed`'s fields). Fields are only ever added to the
    /// contract, and a new column is NULL in the rows before it, so the version stays 1:
    /// an older procwatch still reads (and appends to) the file, never reading the columns
    /// it does not know. A report reads such a file as it is, for the same reason. The
    /// `processes` columns added since (``ProcessRow/addedColumns``: `process_key`, `cgroup`,
    /// `container_id`, `container_runtime`, `pod_uid`, `pod_qos`) are completed the same way.
    static func complete(_ db: Database) throws {
        let columns = Set(try db.columns(in: "events").map(\.name))
        for field in EventColumns.fields where !columns.contains("\(field.name)") {
            try db.execute(sql: "ALTER TABLE events ADD COLUMN \(field.name) \(EventColumns.type(of: field))")
        }
        let processColumns = Set(try db.columns(in: "processes").map(\.name))
        for column in ProcessRow.addedColumns where !processColumns.contains(column.name) {
            try db.execute(sql: "ALTER TABLE processes ADD COLUMN \(column.name) \(column.type)")
        }
        for index in historyIndexes { try db.execute(sql: "CREATE INDEX IF NOT EXISTS " + index) }
    }

    /// The indexes `procwatch history` reads by, added to files created before them when
    /// `record` (or the daemon) next opens them. An index changes nothing a reader sees, so
    /// the version stays 1: an older procwatch reads such a file, and `history` reads a file
    /// without them (scanning instead).
    ///
    /// `processes_start`: one recording's processes by start (the first sighting for one
    /// whose start is unknown), the order and the `--since`/`--until` window of `history`.
    /// `events_exec_failed`: partial, only `exec_failed` rows (rare), so the recorder's
    /// inserts of every other event never touch it; `history --failed` finds the processes
    /// whose exec failed through it.
    static let historyIndexes = [  // each after `CREATE INDEX`
        "processes_start ON processes(recording, \(processStart))",
        "events_exec_failed ON events(process) WHERE event = 'exec_failed'",
    ]

    /// A process's start on its recording's clock: the indexed expression, which queries
    /// must spell the same way for SQLite to use `processes_start`.
    static let processStart = "coalesce(start_ktime_ns, first_seen_ktime_ns)"

    /// An application id as SQLite's documentation writes them: `0x70776368`.
    static func hex(_ id: Int32) -> String {
        let digits = String(UInt32(bitPattern: id), radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// The tables every recording has (a file without `application_id` is ours only with all of them).
    static let tables = ["meta", "processes", "events", "jobs"]

    /// Creates every table and index (the file must be empty).
    static func create(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE meta (
                id INTEGER PRIMARY KEY,
                schema_version INTEGER NOT NULL,
                program TEXT NOT NULL,
                host TEXT NOT NULL,
                kernel TEXT NOT NULL,
                arguments TEXT NOT NULL,
                command TEXT,
                filters TEXT,
                started TEXT NOT NULL,
                started_ktime_ns INTEGER NOT NULL,
                clock_offset_ns INTEGER NOT NULL,
                ended TEXT,
                ended_ktime_ns INTEGER,
                end_reason TEXT,
                taskstats INTEGER NOT NULL
            );
            CREATE TABLE processes (
                id INTEGER PRIMARY KEY,
                recording INTEGER NOT NULL REFERENCES meta(id),
                pid INTEGER NOT NULL,
                ppid INTEGER NOT NULL,
                parent INTEGER REFERENCES processes(id),
                forked INTEGER NOT NULL,
                first_seen TEXT NOT NULL,
                first_seen_ktime_ns INTEGER NOT NULL,
                start_ktime_ns INTEGER,
                end_ktime_ns INTEGER,
                comm TEXT NOT NULL,
                cmdline TEXT,
                exe TEXT,
                execs TEXT NOT NULL,
                uid INTEGER,
                uid_changes TEXT NOT NULL,
                threads INTEGER NOT NULL,
                exit_code INTEGER,
                status TEXT,
                failed INTEGER,
                duration_s REAL,
                cpu_user_us INTEGER,
                cpu_system_us INTEGER,
                peak_rss_kb INTEGER,
                read_bytes INTEGER,
                write_bytes INTEGER,
                \(ProcessRow.addedColumns.map { "\($0.name) \($0.type)" }.joined(separator: ",\n    "))
            );
            CREATE INDEX processes_pid ON processes(pid);
            CREATE INDEX processes_parent ON processes(parent);
            CREATE TABLE events (
                id INTEGER PRIMARY KEY,
                recording INTEGER NOT NULL REFERENCES meta(id),
                process INTEGER REFERENCES processes(id),
                \(EventColumns.definitions)
            );
            CREATE INDEX events_ktime ON events(ktime_ns);
            CREATE INDEX events_pid ON events(pid);
            CREATE TABLE jobs (
                id INTEGER PRIMARY KEY,
                recording INTEGER NOT NULL REFERENCES meta(id),
                root INTEGER REFERENCES processes(id),
                root_pid INTEGER NOT NULL,
                command TEXT NOT NULL,
                start_ktime_ns INTEGER NOT NULL,
                end_ktime_ns INTEGER,
                wall_s REAL,
                exit_code INTEGER,
                status TEXT,
                processes INTEGER NOT NULL,
                threads INTEGER NOT NULL,
                failed INTEGER NOT NULL,
                cpu_user_us INTEGER NOT NULL,
                cpu_system_us INTEGER NOT NULL,
                peak_rss_kb INTEGER NOT NULL,
                read_bytes INTEGER NOT NULL,
                write_bytes INTEGER NOT NULL
            );
            """)
        for index in historyIndexes { try db.execute(sql: "CREATE INDEX " + index) }
        try db.execute(sql: "PRAGMA user_version = \(version)")
        try db.execute(sql: "PRAGMA application_id = \(applicationID)")
    }
}
