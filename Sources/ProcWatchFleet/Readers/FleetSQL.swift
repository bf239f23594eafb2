/// SQL fragments the readers share: times crossing between PostgreSQL's `timestamptz` and
/// the report model's Unix nanoseconds (as microseconds: `timestamptz`'s own precision).
enum FleetSQL {
    /// `column` as Unix microseconds (`bigint`; NULL stays NULL).
    static func unixMicroseconds(_ column: String) -> String {
        "(extract(epoch FROM \(column)) * 1000000)::bigint"
    }

    /// The `timestamptz` of the bound parameter that follows (Unix microseconds): write
    /// `\(unescaped: FleetSQL.epoch)\(value)` in a query.
    static let epoch = "'epoch'::timestamptz + interval '1 microsecond' * "
}
