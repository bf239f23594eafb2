import Logging
import PostgresNIO
import ProcWatchStore
#if canImport(Glibc)
import Glibc
#endif

/// This machine as the fleet store knows it: `procwatch.hosts` holds one row per machine
/// id, and every row a host writes carries that row's integer id.
public struct LocalMachine: Sendable, Equatable {
    /// `/etc/machine-id`: stable across boots, renames and reinstalls of procwatch.
    public var machineID: String
    /// `/proc/sys/kernel/random/boot_id`: a new one each boot.
    public var bootID: String
    /// The host name (uname's nodename, so a UTS namespace has its own).
    public var name: String
    /// `uname -sr`.
    public var kernel: String
    /// The procwatch writing.
    public var procwatchVersion: String

    /// A host described explicitly (tests give several from one machine).
    public init(machineID: String, bootID: String, name: String, kernel: String, procwatchVersion: String) {
        self.machineID = machineID
        self.bootID = bootID
        self.name = name
        self.kernel = kernel
        self.procwatchVersion = procwatchVersion
    }

    /// This machine: its ids from the files above, name and kernel from `uname(2)` (as the
    /// SQLite recording's ``RecordingSession`` reads them). A machine without a machine id
    /// (a bare container) is named by its boot id.
    public static func current(procwatchVersion: String) -> LocalMachine {
        let session = RecordingSession(arguments: [], command: nil, filters: nil, taskstats: false)
        let boot = firstLine("/proc/sys/kernel/random/boot_id") ?? ""
        return LocalMachine(machineID: firstLine("/etc/machine-id") ?? boot, bootID: boot, name: session.host,
                         kernel: session.kernel, procwatchVersion: procwatchVersion)
    }

    /// Registers the host (a new row, or its row's name, boot, kernel and version brought up
    /// to date) and returns its id.
    func register(_ connection: PostgresConnection, logger: Logger) async throws -> Int {
        let rows = try await connection.query("""
            INSERT INTO procwatch.hosts (machine_id, name, boot_id, kernel, procwatch_version)
            VALUES (\(machineID), \(name), \(bootID), \(kernel), \(procwatchVersion))
            ON CONFLICT (machine_id) DO UPDATE SET name = excluded.name, boot_id = excluded.boot_id,
                kernel = excluded.kernel, procwatch_version = excluded.procwatch_version, last_seen = now()
            RETURNING id
            """, logger: logger).collect()
        return try rows[0].decode(Int.self)
    }

    private static func firstLine(_ path: String) -> String? {
        FleetCredentials.readText(path).flatMap { $0.split(separator: "\n").first.map(String.init) }
    }
}
