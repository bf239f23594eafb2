import PostgresNIO

/// One machine of the fleet store (a `procwatch.hosts` row), as `procwatch hosts` lists it.
public struct FleetHost: Sendable, Hashable {
    /// The row id (`host` of every other table's rows).
    public var id: Int32
    /// Its host name, its `/etc/machine-id`, and `uname -sr` of its kernel.
    public var name: String, machineID: String, kernel: String
    /// The procwatch version that last wrote for it.
    public var procwatchVersion: String
    /// When it last wrote, and the time of its newest event (Unix nanoseconds; nil: no event yet).
    public var lastSeen: Int64, lastEvent: Int64?

    /// The machine id as listed: its first 12 hex digits (enough to tell machines apart,
    /// and accepted by `--host`).
    public var shortMachineID: String { String(machineID.prefix(12)) }

    /// Every host of the store, by name (then machine id).
    static func all(_ connection: PostgresConnection, logger: Logger) async throws -> [FleetHost] {
        var hosts: [FleetHost] = []
        let rows = try await connection.query("""
            SELECT id, name, machine_id, kernel, procwatch_version, \(unescaped: FleetSQL.unixMicroseconds("last_seen")) AS last_seen,
                   \(unescaped: FleetSQL.unixMicroseconds("last_event")) AS last_event
            FROM procwatch.hosts ORDER BY name, machine_id
            """, logger: logger)
        for try await row in rows {
            let (id, name, machine, kernel, version, seen, event) = try row.decode((Int32, String, String, String, String, Int64, Int64?).self)
            hosts.append(FleetHost(id: id, name: name, machineID: machine, kernel: kernel, procwatchVersion: version,
                                   lastSeen: seen * 1000, lastEvent: event.map { $0 * 1000 }))
        }
        return hosts
    }

    /// The hosts `given` names (`--host`: a host name, a machine id, or the start of one as
    /// `procwatch hosts` shows it), each once, by name; all of them when `given` is empty.
    /// Throws ``FleetError/unknownHost(server:host:known:)`` for a name none matches.
    static func select(_ given: [String], from hosts: [FleetHost], server: String) throws(FleetError) -> [FleetHost] {
        guard !given.isEmpty else { return hosts }
        var chosen: Set<Int32> = []
        for wanted in given {
            let matches = hosts.filter { $0.name == wanted || $0.machineID == wanted }
            let found = matches.isEmpty && wanted.count >= 8 ? hosts.filter { $0.machineID.hasPrefix(wanted) } : matches
            guard !found.isEmpty else { throw .unknownHost(server: server, host: wanted, known: hosts.map(\.name)) }
            chosen.formUnion(found.map(\.id))
        }
        return hosts.filter { chosen.contains($0.id) }
    }
}
