import OutputBytes
import ProcWatch

/// One row of the `events` table, waiting for its commit: the event contract's fields as
/// columns, one column per field of the same name (``EventColumns``).
///
/// Kept as the event itself and what the process table knew (values the reader already
/// holds, so recording one copies no text): the fields are written out at the commit,
/// straight into the prepared statement's parameters.
package struct EventRow: Sendable {
    /// The contract fields that have a column, in statement order after `recording, process`.
    private static let fields = EventColumns.fields
    /// Each field's parameter (1-based) in the statement, by `EventField.rawValue` (0: not recorded).
    private static let position: [Int32] = EventField.allCases.map { field in
        fields.firstIndex(of: field).map { Int32($0 + 3) } ?? 0
    }

    static let insertSQL = "INSERT INTO events (recording, process, \(fields.map { "\($0.name)" }.joined(separator: ", "))) VALUES ("
        + (0..<(2 + fields.count)).map { _ in "?" }.joined(separator: ", ") + ")"

    /// The columns after `recording`, in position order from 2 (``write(to:)``'s positions).
    package static let columns: [String] = ["process"] + fields.map { "\($0.name)" }

    var event: ProcessEvent
    var process: ProcessRecord?
    /// The row id of the subject's `processes` row.
    var processID: Int64?

    /// A row for `event` (with what the process table knew) of the process with row id `processID`.
    package init(event: ProcessEvent, process: ProcessRecord?, processID: Int64?) {
        self.event = event
        self.process = process
        self.processID = processID
    }

    /// Binds the row's values to ``insertSQL``'s parameters and inserts it.
    func insert(with statement: BulkInsert, recording: Int64) throws {
        statement.integer(1, recording)
        var values = statement
        write(to: &values)
        try statement.run()
    }

    /// Writes every value but the recording's (position 1) at its position: the process at
    /// 2, then the contract fields in ``EventColumns`` order.
    package func write<Values: ColumnValues>(to values: inout Values) {
        if let processID { values.integer(2, processID) }
        var columns = Columns(statement: values)
        event.writeContractFields(process: process, to: &columns)
        values = columns.statement
    }

    /// Binds each contract field to its column: JSON values (`cmdline`, `status`, `data`)
    /// as the JSON view writes them, `time` as RFC 3339 text, `duration_s` as a REAL, a
    /// true/false as 1/0, an integer past SQLite's signed 64 bits (a `cgroup_id` never is)
    /// clamped. A field that does not apply leaves its column NULL.
    private struct Columns<Values: ColumnValues>: EventFieldSink {
        var statement: Values

        mutating func string(_ field: EventField, _ value: String) {
            guard let position = position(field) else { return }
            statement.text(position, value)
        }

        mutating func integer<Value: BinaryInteger>(_ field: EventField, _ value: Value) {
            guard let position = position(field) else { return }
            statement.integer(position, Int64(clamping: value))
        }

        mutating func boolean(_ field: EventField, _ value: Bool) { integer(field, value ? 1 : 0) }
        mutating func null(_ field: EventField) {}
        mutating func time(_ field: EventField, unixNanoseconds: Int64) {
            guard let position = position(field) else { return }
            statement.text(position) { $0.append(rfc3339UnixNanoseconds: unixNanoseconds) }
        }

        mutating func strings(_ field: EventField, _ values: [String]) {
            guard let position = position(field) else { return }
            statement.text(position) { $0.append(jsonStrings: values) }
        }

        mutating func numbers(_ field: EventField, _ values: [UInt8]) {
            guard let position = position(field) else { return }
            statement.text(position) { $0.append(jsonIntegers: values) }
        }

        mutating func exitStatus(_ field: EventField, _ status: ExitStatus) {
            guard let position = position(field) else { return }
            statement.text(position) { $0.append(json: status) }
        }

        mutating func seconds(_ field: EventField, _ value: Double) {
            guard let position = position(field) else { return }
            statement.real(position, value)
        }

        mutating func processKey(_ field: EventField, _ key: ProcessKey) { string(field, key.description) }

        mutating func ancestry(_ field: EventField, _ ancestors: [ProcessRecord]) {}  // not recorded

        private func position(_ field: EventField) -> Int32? {
            let position = EventRow.position[field.rawValue]
            return position == 0 ? nil : position
        }
    }
}
