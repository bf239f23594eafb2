import Logging
import OutputBytes
import PostgresNIO

/// The day partitions of `procwatch.events` (`events_YYYYMMDD`, UTC days): made ahead, from
/// yesterday to the day after tomorrow, when the sink connects and when the day changes;
/// dropped whole by retention. An event outside them (a clock far off) lands in
/// `events_default`.
enum FleetPartitions {
    /// The UTC day number (days since 1970-01-01) of a Unix time in nanoseconds.
    static func day(unixNanoseconds: Int64) -> Int64 {
        let day: Int64 = 86_400 * 1_000_000_000
        return unixNanoseconds >= 0 ? unixNanoseconds / day : (unixNanoseconds - day + 1) / day
    }

    /// `YYYYMMDD` of a day number (the RFC 3339 writer's civil calendar).
    static func name(day: Int64) -> String {
        let (year, month, dayOfMonth) = CivilTime.date(days: day)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)\(two(month))\(two(dayOfMonth))"
    }

    /// Creates the partitions of `today - 1 … today + 2` that do not exist yet. A day whose
    /// events already went to the default partition cannot get its own (PostgreSQL refuses):
    /// it stays there, and that is logged.
    static func ensure(_ connection: PostgresConnection, today: Int64, logger: Logger) async throws {
        let existing = Set(try await connection.query("""
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'procwatch.events'::regclass
            """, logger: logger).collect().map { try $0.decode(String.self) })
        for day in (today - 1)...(today + 2) where !existing.contains("events_\(name(day: day))") {
            let from = name(day: day), to = name(day: day + 1)
            do {
                try await connection.query(PostgresQuery(unsafeSQL: """
                    CREATE TABLE IF NOT EXISTS procwatch.events_\(from) PARTITION OF procwatch.events
                    FOR VALUES FROM ('\(from) 00:00:00+00') TO ('\(to) 00:00:00+00')
                    """), logger: logger)
            } catch {
                logger.warning("the partition events_\(from) could not be created: \(String(reflecting: error))")
            }
        }
    }

    /// The day partitions whose whole day is older than `cutoffDay`, oldest first.
    static func droppable(_ connection: PostgresConnection, before cutoffDay: Int64, logger: Logger) async throws -> [String] {
        let names = try await connection.query("""
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'procwatch.events'::regclass AND c.relname ~ '^events_[0-9]{8}$' ORDER BY 1
            """, logger: logger).collect().map { try $0.decode(String.self) }
        let cutoff = "events_" + name(day: cutoffDay)
        return names.filter { $0 < cutoff }
    }
}
