import Logging
import PostgresNIO
import ProcWatchStore

/// The fleet store's PostgreSQL schema, version 1: the SQLite store's tables (``StoreSchema``)
/// with a `host` column on every row, in the PostgreSQL schema `procwatch`.
///
/// - `procwatch.schema`: one row per migration (version, the procwatch that ran it, when).
/// - `procwatch.hosts`: one row per machine (its `/etc/machine-id`), with its name, boot,
///   kernel and procwatch version, and when it last wrote (`last_seen`) and the time of its
///   newest event (`last_event`).
/// - `procwatch.recordings`: the SQLite `meta` table, keyed by a UUID the writer chooses, so
///   a retried first batch does not start a second recording.
/// - `procwatch.batches`: one row per batch written, keyed by recording and sequence number:
///   the batch's rows are written in the same transaction, so a batch retried after a lost
///   connection is seen as written and skipped (never written twice).
/// - `procwatch.processes`, `procwatch.jobs`: as in SQLite, keyed by recording and id.
/// - `procwatch.events`: partitioned by day on `time` (`events_YYYYMMDD`, created ahead by
///   ``FleetPartitions``, dropped by retention), with a default partition for events
///   outside them (a clock far off); columns from the event contract (``FleetColumns``).
public enum FleetSchema {
    /// The schema version this procwatch writes and reads.
    public static let version = 1
    /// The PostgreSQL schema (namespace) procwatch's tables are in.
    static let namespace = "procwatch"
    /// The advisory lock key that serializes schema changes of several daemons starting at once ("pwch").
    static let migrationLock: Int64 = 0x7077_6368

    /// Checks that the database is procwatch's (or empty) and of a version this procwatch
    /// knows; creates or migrates the schema, and adds the columns of contract fields added
    /// since it was created. Throws ``FleetError/foreignDatabase(server:tables:)`` and
    /// ``FleetError/newerSchema(server:version:)``.
    public static func prepare(_ connection: PostgresConnection, server: String, procwatchVersion: String,
                               logger: Logger) async throws -> Int {
        try await connection.query("BEGIN", logger: logger)
        do {
            try await connection.query("SELECT pg_advisory_xact_lock(\(migrationLock))", logger: logger)
            let found = try await installedVersion(connection, server: server, logger: logger)
            if let found, found > version { throw FleetError.newerSchema(server: server, version: found) }
            if found == nil {
                for statement in createStatements { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
                try await connection.query(
                    "INSERT INTO procwatch.schema (application, version, procwatch_version) VALUES ('procwatch', \(version), \(procwatchVersion))",
                    logger: logger)
            }
            // Fields are only ever added to the contract: their columns are added, NULL in older rows.
            for definition in FleetColumns.eventDefinitions {
                try await connection.query(PostgresQuery(unsafeSQL: "ALTER TABLE procwatch.events ADD COLUMN IF NOT EXISTS \(definition)"), logger: logger)
            }
            for definition in FleetColumns.addedProcessDefinitions {
                try await connection.query(PostgresQuery(unsafeSQL: "ALTER TABLE procwatch.processes ADD COLUMN IF NOT EXISTS \(definition)"), logger: logger)
            }
            try await connection.query("COMMIT", logger: logger)
            return found ?? version
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }

    /// The version recorded in `procwatch.schema`, nil for an empty database; throws
    /// ``FleetError/foreignDatabase(server:tables:)`` for one holding other tables (or a
    /// `procwatch` schema procwatch did not make).
    public static func installedVersion(_ connection: PostgresConnection, server: String, logger: Logger) async throws -> Int? {
        let marker = try await connection.query(
            "SELECT to_regclass('procwatch.schema') IS NOT NULL", logger: logger).collect().first?.decode(Bool.self) ?? false
        if marker {
            let rows = try await connection.query(
                "SELECT max(version) FROM procwatch.schema WHERE application = 'procwatch'", logger: logger).collect()
            if let found = try rows.first?.decode(Int?.self) { return found }
        }
        // From the catalog, not information_schema: that lists only the tables this role may use.
        let others = try await connection.query("""
            SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
            AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1 LIMIT 4
            """, logger: logger).collect().map { try $0.decode(String.self) }
        guard others.isEmpty else { throw FleetError.foreignDatabase(server: server, tables: others.prefix(3).map { $0 } + (others.count > 3 ? ["…"] : [])) }
        return nil
    }

    /// Version 1, statement by statement (the extended protocol runs one at a time).
    static var createStatements: [String] {
        [
            "CREATE SCHEMA IF NOT EXISTS procwatch",
            """
            CREATE TABLE procwatch.schema (
                application text NOT NULL,
                version integer NOT NULL,
                procwatch_version text NOT NULL,
                migrated timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE TABLE procwatch.hosts (
                id serial PRIMARY KEY,
                machine_id text NOT NULL UNIQUE,
                name text NOT NULL,
                boot_id text NOT NULL,
                kernel text NOT NULL,
                procwatch_version text NOT NULL,
                first_seen timestamptz NOT NULL DEFAULT now(),
                last_seen timestamptz NOT NULL DEFAULT now(),
                last_event timestamptz
            )
            """,
            """
            CREATE TABLE procwatch.recordings (
                id uuid PRIMARY KEY,
                host integer NOT NULL REFERENCES procwatch.hosts(id),
                schema_version integer NOT NULL,
                program text NOT NULL,
                boot_id text NOT NULL,
                arguments jsonb NOT NULL,
                command jsonb,
                filters text,
                started timestamptz NOT NULL,
                started_ktime_ns bigint NOT NULL,
                clock_offset_ns bigint NOT NULL,
                ended timestamptz,
                ended_ktime_ns bigint,
                end_reason text,
                taskstats boolean NOT NULL
            )
            """,
            "CREATE INDEX recordings_host ON procwatch.recordings(host, started)",
            """
            CREATE TABLE procwatch.batches (
                recording uuid NOT NULL,
                seq bigint NOT NULL,
                host integer NOT NULL,
                events integer NOT NULL,
                written timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (recording, seq)
            )
            """,
            """
            CREATE TABLE procwatch.processes (
                host integer NOT NULL,
                recording uuid NOT NULL,
                id bigint NOT NULL,
                pid integer NOT NULL,
                ppid integer NOT NULL,
                parent bigint,
                forked boolean NOT NULL,
                first_seen timestamptz NOT NULL,
                first_seen_ktime_ns bigint NOT NULL,
                start_ktime_ns bigint,
                end_ktime_ns bigint,
                comm text NOT NULL,
                cmdline jsonb,
                exe text,
                execs jsonb NOT NULL,
                uid bigint,
                uid_changes jsonb NOT NULL,
                threads integer NOT NULL,
                exit_code bigint,
                status jsonb,
                failed boolean,
                duration_s double precision,
                cpu_user_us bigint,
                cpu_system_us bigint,
                peak_rss_kb bigint,
                read_bytes bigint,
                write_bytes bigint,
                PRIMARY KEY (recording, id)
            )
            """,
            "CREATE INDEX processes_host_start ON procwatch.processes(host, first_seen)",
            // `history --from` without --host: every host's processes by start.
            "CREATE INDEX processes_start ON procwatch.processes(first_seen)",
            "CREATE INDEX processes_comm ON procwatch.processes(comm)",
            """
            CREATE TABLE procwatch.events (
                host integer NOT NULL,
                recording uuid NOT NULL,
                batch bigint NOT NULL,
                process bigint,
                \(FleetColumns.eventDefinitions.joined(separator: ",\n    "))
            ) PARTITION BY RANGE (time)
            """,
            "CREATE TABLE procwatch.events_default PARTITION OF procwatch.events DEFAULT",
            "CREATE INDEX events_host_time ON procwatch.events(host, time)",
            "CREATE INDEX events_recording_process ON procwatch.events(recording, process)",
            """
            CREATE TABLE procwatch.jobs (
                host integer NOT NULL,
                recording uuid NOT NULL,
                root bigint,
                root_pid integer NOT NULL,
                command jsonb NOT NULL,
                start_ktime_ns bigint NOT NULL,
                end_ktime_ns bigint,
                wall_s double precision,
                exit_code bigint,
                status jsonb,
                processes integer NOT NULL,
                threads integer NOT NULL,
                failed integer NOT NULL,
                cpu_user_us bigint NOT NULL,
                cpu_system_us bigint NOT NULL,
                peak_rss_kb bigint NOT NULL,
                read_bytes bigint NOT NULL,
                write_bytes bigint NOT NULL
            )
            """,
        ]
    }
}
