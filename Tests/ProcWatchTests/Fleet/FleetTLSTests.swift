import Logging
import PostgresNIO
import Testing
@testable import ProcWatchFleet

/// `sslmode` against a real PostgreSQL with `ssl = on` and a certificate of a test CA made
/// by `openssl`: verified connections are TLS on the server's side too; every mismatch is
/// one ``FleetError/tls(server:reason:)`` line.
@Suite(.enabled(if: TestPostgres.isAvailable, "needs PostgreSQL and root"))
struct FleetTLSTests {
    let logger = Logger(label: "test")

    func connector(_ text: String) throws -> FleetConnector {
        FleetConnector(url: try FleetURL(parsing: text, environment: [:]), password: TestPostgres.password, logger: logger)
    }

    /// Whether the server sees this connection as TLS (`pg_stat_ssl`).
    func serverSeesTLS(_ fleet: FleetConnector) async throws -> Bool {
        try await fleet.withConnection { connection in
            try await connection.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", logger: logger)
                .collect().first?.decode(Bool.self) ?? false
        }
    }

    /// The one line a failure gives, asserting it is a TLS failure.
    func tlsFailure(_ fleet: FleetConnector) async -> String? {
        do {
            _ = try await fleet.withConnection { _ in true }
            return nil
        } catch {
            guard case .tls = error else { return "not a TLS failure: \(error)" }
            return error.description
        }
    }

    @Test func verifyFullConnectsByTheCertificatesNameOverTLS() async throws {
        try await TestPostgres.with(tls: .init()) { server in
            let database = try server.createDatabase()
            let verified = try connector(server.url(database: database, host: "localhost", query: "sslmode=verify-full&sslrootcert=\(server.caPath)"))
            #expect(try await serverSeesTLS(verified))
            let required = try connector(server.url(database: database, query: "sslmode=require"))
            #expect(try await serverSeesTLS(required))
            let plain = try connector(server.url(database: database, query: "sslmode=disable"))
            #expect(try await serverSeesTLS(plain) == false)
        }
    }

    @Test func verifyFullRefusesANameTheCertificateDoesNotHold() async throws {
        try await TestPostgres.with(tls: .init(names: "DNS:localhost")) { server in
            let database = try server.createDatabase()
            let fleet = try connector(server.url(database: database, host: "127.0.0.1", query: "sslmode=verify-full&sslrootcert=\(server.caPath)"))
            let line = try #require(await tlsFailure(fleet))
            #expect(line.hasPrefix("postgresql://procwatch@127.0.0.1:\(server.port)/\(database): TLS failed: "), "\(line)")
            #expect(!line.contains("\n"))
            // verify-ca checks the chain only: the same certificate is accepted.
            let chainOnly = try connector(server.url(database: database, host: "127.0.0.1", query: "sslmode=verify-ca&sslrootcert=\(server.caPath)"))
            #expect(try await serverSeesTLS(chainOnly))
        }
    }

    @Test func verifyFullRefusesAnotherCA() async throws {
        try await TestPostgres.with(tls: .init()) { server in
            let database = try server.createDatabase()
            let other = try TemporaryDirectory()
            try TestPostgres.makeCA(in: other.path + "/ca")
            let fleet = try connector(server.url(database: database, host: "localhost", query: "sslmode=verify-full&sslrootcert=\(other.path)/ca/ca.pem"))
            let line = try #require(await tlsFailure(fleet))
            #expect(line.hasPrefix("postgresql://procwatch@localhost:\(server.port)/\(database): TLS failed: "), "\(line)")
            #expect(!line.contains("\n"))
        }
    }

    @Test func requireAgainstAServerWithoutTLSIsOneLine() async throws {
        try await TestPostgres.with { server in
            let database = try server.createDatabase()
            let fleet = try connector(server.url(database: database, query: "sslmode=require"))
            #expect(await tlsFailure(fleet)
                    == "postgresql://procwatch@127.0.0.1:\(server.port)/\(database): TLS failed: the server does not offer TLS (sslmode=require)")
        }
    }
}
