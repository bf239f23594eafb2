import ProcWatch

/// The `events` table's columns: one per field of the event contract, of the same name
/// (`ancestry`, a view option, is not recorded), with its SQLite type.
///
/// The one list the table is created from (``StoreSchema/create(_:)``), that a file written
/// before a field existed is completed from (``StoreSchema/complete(_:)``), and that rows
/// are inserted by (``EventRow``): a new ``EventField`` needs only its type here.
package enum EventColumns {
    /// The recorded fields, in column order.
    package static let fields = EventField.allCases.filter { $0 != .ancestry }

    /// The SQLite type of a field's column. `cmdline`, `status` and `data` hold JSON text,
    /// `thread`, `cmdline_cut` and `exe_unresolved` 0 or 1, `duration_s` a REAL.
    package static func type(of field: EventField) -> String {
        switch field {
        case .event, .time, .comm, .commandLine, .executable, .status, .reason, .data, .path, .errorName, .ancestry,
             .processKey, .cgroup, .containerID, .containerRuntime, .podUID, .podQoS:
            "TEXT"
        case .duration:
            "REAL"
        case .kernelTime, .cpu, .sequence, .pid, .tid, .parentPID, .parentTID, .thread, .realUID, .effectiveUID,
             .realGID, .effectiveGID, .session, .tracerPID, .tracerTID, .commandLineCut, .executableUnresolved, .uid, .gid, .loginUID,
             .cgroupID, .errorNumber, .exitCode, .exitSignal, .cpuUser, .cpuSystem, .peakRSS, .readBytes,
             .writeBytes, .readChars, .writeChars, .count, .what:
            "INTEGER"
        }
    }

    /// The fields every event has (NOT NULL, and in every file since version 1 was created).
    package static let required: Set<EventField> = [.event, .time, .kernelTime]

    /// The column definitions for `CREATE TABLE events`, after `id`, `recording` and `process`.
    static var definitions: String {
        fields.map { "\($0.name) \(type(of: $0))\(required.contains($0) ? " NOT NULL" : "")" }
            .joined(separator: ",\n    ")
    }
}
