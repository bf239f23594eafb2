import Logging
import PostgresNIO

/// The fleet store opened for reading, as `report --from`, `history --from` and `hosts` use
/// it: the connection string as typed (a password in it is refused: ``FleetCredentials``),
/// the password from `PGPASSWORD`, the password file or the string's service, and a check
/// that the database holds procwatch's schema of a version this procwatch reads.
public struct FleetReader: Sendable {
    /// Where it reads.
    public let connector: FleetConnector
    let logger: Logger

    /// The server as messages name it (never with a password).
    public var server: String { connector.url.redacted }

    /// Parses `text` (a command-line argument) and resolves its password; `warn` is told
    /// about a password file that was ignored.
    public init(_ text: String, environment: [String: String] = FleetEnvironment.current, logger: Logger,
                warn: (String) -> Void = { _ in }) throws(FleetError) {
        let url = try FleetURL(parsing: text, environment: environment)
        let password = try FleetCredentials.password(for: url, origin: .commandLine, environment: environment, warn: warn)
        connector = FleetConnector(url: url, password: password, logger: logger)
        self.logger = logger
    }

    /// Runs `body` on a connection to a database whose procwatch schema this procwatch reads,
    /// with its hosts. Throws ``FleetError/noHistory(server:)`` for a database without it,
    /// ``FleetError/foreignDatabase(server:tables:)`` and ``FleetError/newerSchema(server:version:)``.
    func reading<T>(_ body: (PostgresConnection, [FleetHost]) async throws -> T) async throws(FleetError) -> T {
        let server = self.server
        let logger = self.logger
        return try await connector.withConnection { connection in
            guard let version = try await FleetSchema.installedVersion(connection, server: server, logger: logger) else {
                throw FleetError.noHistory(server: server)
            }
            guard version <= FleetSchema.version else { throw FleetError.newerSchema(server: server, version: version) }
            return try await body(connection, try await FleetHost.all(connection, logger: logger))
        }
    }

    /// Every host the store holds, by name.
    public func hosts() async throws(FleetError) -> [FleetHost] {
        try await reading { _, hosts in hosts }
    }
}
