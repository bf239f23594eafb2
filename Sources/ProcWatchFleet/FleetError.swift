/// Why the fleet store cannot be used: each one line, for `procwatch: …`. The server is
/// always named as ``FleetURL/redacted`` (never with a password).
public enum FleetError: Error, Equatable, CustomStringConvertible {
    /// The connection string cannot be parsed (`reason` says where).
    case badURL(String, reason: String)
    /// A password was given on the command line, where `ps` shows it to every user.
    case passwordOnCommandLine(server: String)
    /// A configuration file holding a password is readable by others than its owner.
    case exposedConfiguration(path: String, mode: UInt32)
    /// The server did not answer (refused, unreachable, timed out).
    case unreachable(server: String, reason: String)
    /// The server refused the user's password (or has none for it).
    case authentication(server: String, user: String, reason: String)
    /// The database does not exist on the server.
    case noSuchDatabase(server: String)
    /// TLS was asked for and could not be set up or verified.
    case tls(server: String, reason: String)
    /// The database holds tables of another program (`tables`: a few of them).
    case foreignDatabase(server: String, tables: [String])
    /// The procwatch schema in the database is newer than this procwatch writes.
    case newerSchema(server: String, version: Int)
    /// Any other error the server reported (SQLSTATE and its message).
    case server(server: String, message: String)
    /// A reader found no procwatch schema: nothing was written to this database yet.
    case noHistory(server: String)
    /// `--host` named a host the fleet store does not hold (`known`: the names it holds).
    case unknownHost(server: String, host: String, known: [String])

    /// The one-line message (`procwatch: ` is added by the command).
    public var description: String {
        switch self {
        case .badURL(let text, let reason): "bad PostgreSQL connection string \(text): \(reason)"
        case .passwordOnCommandLine(let server):
            "\(server): a password on the command line is visible to every user in ps; use PGPASSWORD, ~/.pgpass or the daemon's configuration file (mode 0600)"
        case .exposedConfiguration(let path, let mode):
            "\(path) holds a PostgreSQL password but its mode is \(String(mode, radix: 8, uppercase: false).leftPadded(to: 4)): make it 0600 (chmod 600 \(path))"
        case .unreachable(let server, let reason): "cannot reach \(server): \(reason)"
        case .authentication(let server, let user, let reason): "\(server): the server refused user \"\(user)\": \(reason)"
        case .noSuchDatabase(let server): "\(server): no such database"
        case .tls(let server, let reason): "\(server): TLS failed: \(reason)"
        case .foreignDatabase(let server, let tables):
            "\(server) holds another program's tables (\(tables.joined(separator: ", "))): give procwatch a database of its own"
        case .newerSchema(let server, let version):
            "\(server) has procwatch schema version \(version), newer than this procwatch's (\(FleetSchema.version)): use a newer procwatch"
        case .server(let server, let message): "\(server): \(message)"
        case .noHistory(let server): "\(server) holds no procwatch history yet (no procwatch schema in it)"
        case .unknownHost(let server, let host, let known):
            "\(server) holds no host \(host) (known: \(known.isEmpty ? "none yet" : known.joined(separator: ", ")))"
        }
    }
}

extension String {
    /// The string with `0`s in front up to `width` characters (a file mode's `0600`).
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
