import GRDB
import OutputBytes
import ProcWatch

/// One row of the `events` table: the event contract's fields as columns, one column per
/// field of the same name (``EventColumns``).
struct EventRow {
    /// The contract fields that have a column, in statement order after `recording, process`.
    private static let fields = EventColumns.fields
    /// Each field's position in the row, by `EventField.rawValue` (nil: not recorded).
    private static let position: [Int?] = EventField.allCases.map { field in fields.firstIndex(of: field).map { $0 + 2 } }
    private static let width = 2 + fields.count

    static let insertSQL = "INSERT INTO events (recording, process, \(fields.map { "\($0.name)" }.joined(separator: ", "))) VALUES ("
        + (0..<width).map { _ in "?" }.joined(separator: ", ") + ")"

    /// One value per column (an array, not a dictionary: this runs for every event of a
    /// storm): `recording` (bound at commit), `process`, then ``fields``.
    private var row: [DatabaseValue]

    /// The row for `event`, with what the process table knew (`process`) and the row id of
    /// the subject's `processes` row.
    init(event: ProcessEvent, process: ProcessRecord?, processID: Int64?) {
        var columns = Columns(row: [DatabaseValue](repeating: .null, count: Self.width))
        columns.row[1] = processID?.databaseValue ?? .null
        event.writeContractFields(process: process, to: &columns)
        row = columns.row
    }

    /// The values, in statement order.
    func values(recording: Int64) -> [DatabaseValue] {
        var ordered = row
        ordered[0] = recording.databaseValue
        return ordered
    }

    /// Binds each contract field to its column: JSON values (`cmdline`, `status`, `data`)
    /// as the JSON view writes them, `time` as RFC 3339 text, `duration_s` as a REAL, an
    /// integer past SQLite's signed 64 bits (a `cgroup_id` never is) clamped.
    private struct Columns: EventFieldSink {
        var row: [DatabaseValue]

        mutating func set(_ field: EventField, _ value: some DatabaseValueConvertible) {
            guard let position = EventRow.position[field.rawValue] else { return }
            row[position] = value.databaseValue
        }

        mutating func string(_ field: EventField, _ value: String) { set(field, value) }
        mutating func integer<Value: BinaryInteger>(_ field: EventField, _ value: Value) { set(field, Int64(clamping: value)) }
        mutating func boolean(_ field: EventField, _ value: Bool) { set(field, value) }
        mutating func null(_ field: EventField) {}  // the column stays NULL
        mutating func time(_ field: EventField, unixNanoseconds: Int64) {
            set(field, StoreClock.rfc3339(unixNanoseconds: unixNanoseconds))
        }
        mutating func strings(_ field: EventField, _ values: [String]) { set(field, JSONText.strings(values)) }
        mutating func numbers(_ field: EventField, _ values: [UInt8]) { set(field, JSONText.integers(values)) }
        mutating func exitStatus(_ field: EventField, _ status: ExitStatus) { set(field, status.json) }
        mutating func seconds(_ field: EventField, _ value: Double) { set(field, value) }
        mutating func ancestry(_ field: EventField, _ ancestors: [ProcessRecord]) {}  // not recorded
    }
}
