import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// Opens connections to the fleet's PostgreSQL server, with the password from
/// ``FleetCredentials`` and TLS as the URL's `sslmode` asks, and turns every failure into
/// one ``FleetError`` line.
public struct FleetConnector: Sendable {
    /// Where to connect.
    public let url: FleetURL
    /// The password (nil: none, for `trust` or peer authentication).
    let password: String?
    private let logger: Logger

    /// A connector for `url` with the password already resolved (see ``FleetCredentials``).
    public init(url: FleetURL, password: String?, logger: Logger) {
        self.url = url
        self.password = password
        self.logger = logger
    }

    /// Connects (within the URL's `connect_timeout`).
    public func connect() async throws(FleetError) -> PostgresConnection {
        let configuration = try configuration()
        do {
            return try await PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration,
                id: Int.random(in: 0..<Int.max), logger: logger)
        } catch {
            throw translate(error)
        }
    }

    /// Runs `body` on a new connection and closes it afterwards.
    public func withConnection<T>(_ body: (PostgresConnection) async throws -> T) async throws(FleetError) -> T {
        let connection = try await connect()
        do {
            let result = try await body(connection)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw translate(error)
        }
    }

    private func configuration() throws(FleetError) -> PostgresConnection.Configuration {
        var configuration: PostgresConnection.Configuration
        if let directory = url.socketDirectory {
            configuration = .init(unixSocketPath: "\(directory)/.s.PGSQL.\(url.port)", username: url.user,
                                  password: password, database: url.database)
        } else {
            configuration = .init(host: url.host ?? "localhost", port: url.port, username: url.user, password: password,
                                  database: url.database, tls: try tls())
            if url.sslMode == .verifyFull { configuration.options.tlsServerName = url.host }
        }
        configuration.options.connectTimeout = .seconds(Int64(url.connectTimeout))
        configuration.options.additionalStartupParameters = [("application_name", url.applicationName)]
        return configuration
    }

    /// The TLS setting `sslmode` asks for: libpq's meanings, with the CA file of
    /// `sslrootcert` (the system's trust store when none is named) for the verifying modes.
    private func tls() throws(FleetError) -> PostgresConnection.Configuration.TLS {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch url.sslMode {
        case .disable: return .disable
        case .allow, .prefer, .require: tls.certificateVerification = .none
        case .verifyCA: tls.certificateVerification = .noHostnameVerification
        case .verifyFull: tls.certificateVerification = .fullVerification
        }
        if let root = url.sslRootCert, url.sslMode == .verifyCA || url.sslMode == .verifyFull {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(root))
            } catch {
                throw .tls(server: url.redacted, reason: "cannot read the CA certificate \(root): \(error)")
            }
        }
        let context: NIOSSLContext
        do { context = try NIOSSLContext(configuration: tls) } catch {
            throw .tls(server: url.redacted, reason: "\(error)")
        }
        switch url.sslMode {
        case .allow, .prefer: return .prefer(context)
        default: return .require(context)
        }
    }

    /// One ``FleetError`` for whatever connecting or a query threw.
    public func translate(_ error: any Error) -> FleetError {
        if let error = error as? FleetError { return error }
        let server = url.redacted
        guard let error = error as? PSQLError else { return .unreachable(server: server, reason: "\(error)") }
        if let state = error.serverInfo?[.sqlState] {
            let message = error.serverInfo?[.message] ?? "error \(state)"
            switch state {
            case "28P01", "28000": return .authentication(server: server, user: url.user, reason: message)
            case "3D000": return .noSuchDatabase(server: server)
            default: return .server(server: server, message: "\(message) (SQLSTATE \(state))")
            }
        }
        switch error.code {
        case .authMechanismRequiresPassword:
            return .authentication(server: server, user: url.user, reason: "the server asks for a password and none was found (PGPASSWORD, ~/.pgpass)")
        case .sslUnsupported:
            return .tls(server: server, reason: "the server does not offer TLS (sslmode=\(url.sslMode.rawValue))")
        case .failedToAddSSLHandler:
            return .tls(server: server, reason: "\(error.underlying.map { "\($0)" } ?? "the TLS handshake failed")")
        default:
            if let underlying = error.underlying {
                if underlying is NIOSSLError || "\(type(of: underlying))".contains("SSL") || "\(type(of: underlying))".contains("BoringSSL") {
                    return .tls(server: server, reason: "\(underlying)")
                }
                return .unreachable(server: server, reason: "\(underlying)")
            }
            return .unreachable(server: server, reason: "\(error.code)")
        }
    }
}
