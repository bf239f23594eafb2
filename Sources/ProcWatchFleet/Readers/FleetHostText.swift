import OutputBytes
import ProcWatchStore

extension FleetHost {
    /// The column header of ``line(now:)``'s lines.
    public static let header = TextColumns.left("HOST", 16) + " " + TextColumns.left("MACHINE", 12) + " " + TextColumns.left("KERNEL", 22) + " "
        + TextColumns.left("PROCWATCH", 12) + " " + TextColumns.left("LAST EVENT", 27) + " " + TextColumns.right("LAG", 8) + " LAST WRITE"

    /// One line: name, machine id (short), kernel, procwatch version, the time of its newest
    /// event, the lag (`now` minus that; `-` with no event yet) and when it last wrote
    /// (RFC 3339 UTC, as `report` writes times). Longer values widen the line, never cut.
    public func line(now: Int64) -> String {
        TextColumns.left(name, 16) + " " + TextColumns.left(shortMachineID, 12) + " " + TextColumns.left(kernel, 22) + " "
            + TextColumns.left(procwatchVersion, 12) + " " + TextColumns.left(lastEvent.map { StoreClock.rfc3339(unixNanoseconds: $0) } ?? "-", 27) + " "
            + TextColumns.right(lastEvent.map { Self.lag(now - $0) } ?? "-", 8) + " " + StoreClock.rfc3339(unixNanoseconds: lastSeen)
    }

    /// One JSON object (no newline): `name`, `machine_id` (whole), `kernel`,
    /// `procwatch_version`, `last_event` and `lag_s` (absent with no event yet), `last_write`.
    public func json(now: Int64) -> String {
        var bytes: [UInt8] = []
        bytes.append(ascii: "{\"name\":")
        bytes.append(jsonString: name)
        bytes.append(ascii: ",\"machine_id\":")
        bytes.append(jsonString: machineID)
        bytes.append(ascii: ",\"kernel\":")
        bytes.append(jsonString: kernel)
        bytes.append(ascii: ",\"procwatch_version\":")
        bytes.append(jsonString: procwatchVersion)
        if let lastEvent {
            bytes.append(ascii: ",\"last_event\":")
            bytes.append(jsonString: StoreClock.rfc3339(unixNanoseconds: lastEvent))
            bytes.append(ascii: ",\"lag_s\":")
            bytes.append(number: max(0, now - lastEvent) / 1_000_000_000)
        }
        bytes.append(ascii: ",\"last_write\":")
        bytes.append(jsonString: StoreClock.rfc3339(unixNanoseconds: lastSeen))
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A span in its two largest units, rounded down: `42s`, `3m05s`, `2h07m`, `4d03h` (a
    /// clock behind the host's, a negative span, is `0s`).
    static func lag(_ nanoseconds: Int64) -> String {
        let seconds = max(0, nanoseconds) / 1_000_000_000
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        switch seconds {
        case ..<60: return "\(seconds)s"
        case ..<3600: return "\(seconds / 60)m\(two(seconds % 60))s"
        case ..<86_400: return "\(seconds / 3600)h\(two(seconds % 3600 / 60))m"
        default: return "\(seconds / 86_400)d\(two(seconds % 86_400 / 3600))h"
        }
    }
}
