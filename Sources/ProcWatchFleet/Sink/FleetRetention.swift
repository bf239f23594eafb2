import Logging
import PostgresNIO

/// The fleet store's retention, run by each sink that has a `keep`: whole day partitions of
/// `events` older than it are dropped (instant, no dead rows), and the `processes`,
/// `batches` and ended `recordings` rows older than it deleted in steps of
/// ``rowsPerStep``, so no step holds locks long. The store is shared: the shortest `keep`
/// of the hosts writing to it wins.
enum FleetRetention {
    /// Rows deleted per statement.
    static let rowsPerStep = 10_000
    /// Seconds between two retention passes of a sink.
    static let interval = 3_600.0

    /// One pass: drops the partitions whose whole day is older than `keep` before `now`
    /// (Unix nanoseconds), then deletes older rows step by step. Returns the partitions dropped.
    @discardableResult
    static func run(_ connection: PostgresConnection, keep: Duration, now: Int64, logger: Logger) async throws -> [String] {
        let cutoff = now - Int64(keep.components.seconds) * 1_000_000_000
        let dropped = try await FleetPartitions.droppable(connection, before: FleetPartitions.day(unixNanoseconds: cutoff), logger: logger)
        for name in dropped {
            try await connection.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS procwatch.\(name)"), logger: logger)
        }
        let seconds = Double(cutoff) / 1e9
        for table in ["processes WHERE first_seen", "batches WHERE written", "recordings WHERE ended"] {
            let (name, condition) = (table.prefix { $0 != " " }, table.drop { $0 != " " })
            while true {
                let rows = try await connection.query(PostgresQuery(unsafeSQL: """
                    WITH old AS (SELECT ctid FROM procwatch.\(name)\(condition) < to_timestamp(\(seconds)) LIMIT \(rowsPerStep))
                    DELETE FROM procwatch.\(name) WHERE ctid IN (SELECT ctid FROM old) RETURNING 1
                    """), logger: logger).collect()
                if rows.count < rowsPerStep { break }
            }
        }
        return dropped
    }
}
