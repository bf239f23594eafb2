import ProcWatch
import ProcWatchStore

/// The fleet tables' columns as PostgreSQL types, derived from the SQLite store's lists
/// (``EventColumns`` for `events`), so a field added to the event contract is a column in
/// both stores with nothing else to change.
enum FleetColumns {
    /// The PostgreSQL type of an event field's column: SQLite's INTEGER as `bigint`, REAL as
    /// `double precision`, TEXT as `text`; the time as `timestamptz` (the partition key);
    /// the fields that hold JSON (`cmdline`, `status`, `data`) as `jsonb`.
    static func type(of field: EventField) -> String {
        switch field {
        case .time: return "timestamptz"
        case .commandLine, .status, .data: return "jsonb"
        default: break
        }
        switch EventColumns.type(of: field) {
        case "INTEGER": return "bigint"
        case "REAL": return "double precision"
        default: return "text"
        }
    }

    /// `events`' contract columns, in the order rows are written (``EventColumns/fields``).
    static var eventDefinitions: [String] {
        EventColumns.fields.map { "\($0.name) \(type(of: $0))\(EventColumns.required.contains($0) ? " NOT NULL" : "")" }
    }

    /// The `processes` columns added to the SQLite store since version 1 (``ProcessRow/addedColumns``:
    /// `process_key`, the cgroup and container), in PostgreSQL types; added to the table as
    /// they are to an older SQLite file.
    static var addedProcessDefinitions: [String] {
        ProcessRow.addedColumns.map { "\($0.name) \($0.type == "INTEGER" ? "bigint" : $0.type == "REAL" ? "double precision" : "text")" }
    }
}
