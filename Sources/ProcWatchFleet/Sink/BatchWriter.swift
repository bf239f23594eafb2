import Logging
import NIOCore
import OutputBytes
import PostgresNIO
import ProcWatchStore

/// Writes ``FleetBatch``es, each in one transaction that first claims its
/// `procwatch.batches` row: a batch already written (retried after a lost connection, or
/// read again from a spool file) claims nothing and is skipped, so no row is written twice.
struct BatchWriter {
    /// How `events` rows are sent: `COPY … FROM STDIN`, or multi-row `INSERT`s (kept to
    /// measure against: `fleet-bench` in Benchmarks/ compares them).
    enum Method: String, Sendable, CaseIterable {
        case copy, insert
    }

    /// `events`' columns in the order of the rows (``BatchEncoder``), `host` first.
    static let eventColumns: [String] = ["host", "recording", "batch"] + EventRow.columns
    /// `processes`' columns, `host` first.
    static let processColumns: [String] = ["host"] + ProcessRow.columns
    /// Bytes sent per COPY data message.
    static let chunkBytes = 256 << 10

    let host: Int
    var method: Method = .copy
    let logger: Logger

    /// Writes `batch`; returns false when it had been written before (and was skipped now).
    func write(_ batch: FleetBatch, on connection: PostgresConnection) async throws -> Bool {
        try await connection.query("BEGIN", logger: logger)
        do {
            // COPY names one table without a schema (postgres-nio quotes the name whole).
            try await connection.query("SET LOCAL search_path = procwatch", logger: logger)
            let claimed = try await connection.query("""
                INSERT INTO batches (recording, seq, host, events) VALUES (\(batch.recording), \(batch.sequence), \(host), \(batch.eventCount))
                ON CONFLICT DO NOTHING RETURNING 1
                """, logger: logger).collect()
            guard !claimed.isEmpty else {
                try await connection.query("ROLLBACK", logger: logger)
                return false
            }
            if let start = batch.start { try await insertRecording(batch, start, connection) }
            if !batch.events.isEmpty {
                switch method {
                case .copy: try await copy(batch.events, into: "events", columns: Self.eventColumns, connection)
                case .insert: try await insert(batch.events, into: "events", columns: Self.eventColumns, connection)
                }
            }
            if !batch.processes.isEmpty { try await upsertProcesses(batch.processes, connection) }
            if let newest = batch.newestEvent {
                let time = StoreClock.rfc3339(unixNanoseconds: newest)
                try await connection.query("""
                    UPDATE hosts SET last_seen = now(), last_event = greatest(last_event, \(time)::timestamptz) WHERE id = \(host)
                    """, logger: logger)
            }
            if let end = batch.end {
                let ended = StoreClock.rfc3339(unixNanoseconds: end.ended)
                try await connection.query("""
                    UPDATE recordings SET ended = \(ended)::timestamptz, ended_ktime_ns = \(end.endedMonotonic), end_reason = \(end.reason)
                    WHERE id = \(batch.recording)
                    """, logger: logger)
            }
            try await connection.query("COMMIT", logger: logger)
            return true
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }

    private func insertRecording(_ batch: FleetBatch, _ start: FleetRecordingStart, _ connection: PostgresConnection) async throws {
        let started = StoreClock.rfc3339(unixNanoseconds: start.started)
        let arguments = JSONText.strings(start.arguments)
        let command = start.command.map(JSONText.strings)
        try await connection.query("""
            INSERT INTO recordings (id, host, schema_version, program, boot_id, arguments, command, filters, started,
                                    started_ktime_ns, clock_offset_ns, taskstats)
            VALUES (\(batch.recording), \(host), \(FleetSchema.version), 'procwatch', \(start.bootID), \(arguments)::jsonb,
                    \(command)::jsonb, \(start.filters), \(started)::timestamptz, \(start.startedMonotonic),
                    \(start.started - start.startedMonotonic), \(start.taskstats))
            ON CONFLICT DO NOTHING
            """, logger: logger)
    }

    /// The changed process rows: copied into a temporary table, then inserted or updated.
    private func upsertProcesses(_ rows: [UInt8], _ connection: PostgresConnection) async throws {
        try await connection.query("""
            CREATE TEMPORARY TABLE IF NOT EXISTS process_changes (LIKE procwatch.processes) ON COMMIT DELETE ROWS
            """, logger: logger)
        try await copy(rows, into: "process_changes", columns: Self.processColumns, connection)
        let updates = Self.processColumns.filter { $0 != "recording" && $0 != "id" }.map { "\($0) = excluded.\($0)" }
        try await connection.query(PostgresQuery(unsafeSQL: """
            INSERT INTO processes (\(Self.processColumns.joined(separator: ", ")))
            SELECT \(Self.processColumns.joined(separator: ", ")) FROM process_changes
            ON CONFLICT (recording, id) DO UPDATE SET \(updates.joined(separator: ", "))
            """), logger: logger)
    }

    /// Sends `rows` (COPY text without the host) with `COPY table FROM STDIN`, the host id
    /// put in front of each row.
    private func copy(_ rows: [UInt8], into table: String, columns: [String], _ connection: PostgresConnection) async throws {
        let prefix = Array("\(host)\t".utf8)
        try await connection.copyFrom(table: table, columns: columns, logger: logger) { writer in
            var buffer = ByteBuffer()
            buffer.reserveCapacity(Self.chunkBytes + 4096)
            var lineStart = 0
            for index in rows.indices where rows[index] == 0x0A {
                buffer.writeBytes(prefix)
                buffer.writeBytes(rows[lineStart...index])
                lineStart = index + 1
                if buffer.readableBytes >= Self.chunkBytes {
                    try await writer.write(buffer)
                    buffer.clear()
                }
            }
            if buffer.readableBytes > 0 { try await writer.write(buffer) }
        }
    }

    /// The same rows as multi-row `INSERT … VALUES` statements of 1000 rows, each value a
    /// literal as COPY's text would give it (the comparison ``Method/insert`` measures).
    private func insert(_ rows: [UInt8], into table: String, columns: [String], _ connection: PostgresConnection) async throws {
        let head = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES "
        var sql: [UInt8] = Array(head.utf8)
        var rowsInStatement = 0
        func flush() async throws {
            guard rowsInStatement > 0 else { return }
            try await connection.query(PostgresQuery(unsafeSQL: String(decoding: sql, as: UTF8.self)), logger: logger)
            sql = Array(head.utf8)
            rowsInStatement = 0
        }
        for line in rows.split(separator: 0x0A) {
            if rowsInStatement > 0 { sql.append(UInt8(ascii: ",")) }
            sql += Array("(\(host)".utf8)
            for value in line.split(separator: 0x09, omittingEmptySubsequences: false) {
                sql.append(UInt8(ascii: ","))
                Self.appendLiteral(value, to: &sql)
            }
            sql.append(UInt8(ascii: ")"))
            rowsInStatement += 1
            if rowsInStatement == 1000 { try await flush() }
        }
        try await flush()
    }

    /// A COPY text value as an SQL literal: `\N` as NULL, escapes undone, quotes doubled.
    private static func appendLiteral(_ value: ArraySlice<UInt8>, to sql: inout [UInt8]) {
        if value.elementsEqual([0x5C, UInt8(ascii: "N")]) {
            sql += Array("NULL".utf8)
            return
        }
        sql.append(UInt8(ascii: "'"))
        var escaped = false
        for byte in value {
            var plain = byte
            if escaped {
                escaped = false
                switch byte {
                case UInt8(ascii: "t"): plain = 0x09
                case UInt8(ascii: "n"): plain = 0x0A
                case UInt8(ascii: "r"): plain = 0x0D
                default: plain = byte
                }
            } else if byte == 0x5C {
                escaped = true
                continue
            }
            if plain == UInt8(ascii: "'") { sql.append(plain) }
            sql.append(plain)
        }
        sql.append(UInt8(ascii: "'"))
    }
}
