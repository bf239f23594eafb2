import ArgumentParser
import Logging
import ProcWatchCLI
import ProcWatchFleet

/// What the fleet readers (`report --from`, `history --from`, `hosts`) share on the command
/// line: the connection string's reader, `--host` lists, and failures as one line.
enum FleetAccess {
    /// The environment variable `hosts` reads its store from when `--from` is not given.
    static let variable = "PROCWATCH_FLEET"

    /// The `--from` option's help, one text for the three commands.
    static let fromHelp = ArgumentHelp(
        "Read the fleet store in PostgreSQL (no password in it: PGPASSWORD, ~/.pgpass or a pg_service.conf service). Example: --from postgresql://reader@db.example/procwatch?sslmode=verify-full",
        valueName: "URL")

    /// The `--host` option's help.
    static let hostHelp = ArgumentHelp(
        "With --from: only this host (name, machine id, or its first 8+ digits); repeat it or give a comma list. Example: --host web1,web2",
        valueName: "HOST")

    /// A reader of the store `text` names. Logs of the PostgreSQL client are dropped: every
    /// failure reaches the user as one ``FleetError`` line.
    static func reader(_ text: String) throws(FleetError) -> FleetReader {
        try FleetReader(text, logger: Logger(label: "procwatch.fleet") { _ in SwiftLogNoOpLogHandler() }) { warning in
            FileHandleOutput.standardError("procwatch: warning: \(warning)")
        }
    }

    /// `--host` values with comma lists split, empty items dropped.
    static func hostNames(_ given: [String]) -> [String] {
        given.flatMap { $0.split(separator: ",").map(String.init) }
    }

    /// Says `error` in one line and gives the exit status: 64 for bad input (a connection
    /// string that cannot be read or holds a password, a service file open to others, a
    /// `--host` the store does not hold), `status` for a store that cannot be read.
    static func failure(_ error: FleetError, status: Int32) -> ExitCode {
        FileHandleOutput.standardError("procwatch: \(error)")
        switch error {
        case .badURL, .passwordOnCommandLine, .exposedConfiguration, .unknownHost: return ExitCode(64)
        default: return ExitCode(status)
        }
    }
}
