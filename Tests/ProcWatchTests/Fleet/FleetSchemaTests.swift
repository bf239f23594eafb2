import Logging
import PostgresNIO
import Testing
@testable import ProcWatchFleet

/// The fleet schema against a real PostgreSQL: created once, found again, refused in another
/// program's database and when newer than this procwatch; connection failures as one line.
@Suite(.enabled(if: TestPostgres.isAvailable, "needs PostgreSQL and root"))
struct FleetSchemaTests {
    let logger = Logger(label: "test")

    func connector(_ server: TestPostgres, database: String, password: String? = TestPostgres.password) throws -> FleetConnector {
        FleetConnector(url: try FleetURL(parsing: server.url(database: database), environment: [:]), password: password, logger: logger)
    }

    @Test func createsTheSchemaOnceAndFindsItAgain() async throws {
        try await TestPostgres.with { server in
            let database = try server.createDatabase()
            let fleet = try connector(server, database: database)
            let first = try await fleet.withConnection { try await FleetSchema.prepare($0, server: "s", procwatchVersion: "test", logger: logger) }
            let second = try await fleet.withConnection { try await FleetSchema.prepare($0, server: "s", procwatchVersion: "test", logger: logger) }
            #expect(first == 1 && second == 1)
            #expect(try server.psql("SELECT application, version, procwatch_version FROM procwatch.schema", database: database)
                    == "procwatch|1|test")
            let tables = try server.psql("""
                SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'procwatch'
                """, database: database)
            #expect(tables == "batches,events,events_default,hosts,jobs,processes,recordings,schema")
            #expect(try server.psql("SELECT relkind FROM pg_class WHERE oid = 'procwatch.events'::regclass", database: database) == "p")
            #expect(try server.psql("""
                SELECT data_type FROM information_schema.columns WHERE table_schema = 'procwatch' AND table_name = 'events'
                AND column_name IN ('time', 'cmdline', 'pid', 'duration_s') ORDER BY column_name
                """, database: database) == "jsonb\ndouble precision\nbigint\ntimestamp with time zone")
        }
    }

    @Test func refusesAnotherProgramsDatabaseAndANewerSchema() async throws {
        try await TestPostgres.with { server in
            let foreign = try server.createDatabase()
            try server.psql("CREATE TABLE public.invoices (id int); CREATE TABLE public.customers (id int)", database: foreign)
            let fleet = try connector(server, database: foreign)
            let url = fleet.url.redacted
            await #expect(throws: FleetError.foreignDatabase(server: url, tables: ["public.customers", "public.invoices"])) {
                try await fleet.withConnection { try await FleetSchema.prepare($0, server: url, procwatchVersion: "t", logger: logger) }
            }
            #expect(FleetError.foreignDatabase(server: url, tables: ["public.customers", "public.invoices"]).description
                    == "\(url) holds another program's tables (public.customers, public.invoices): give procwatch a database of its own")

            let newer = try server.createDatabase()
            let ours = try connector(server, database: newer)
            let newerURL = ours.url.redacted
            _ = try await ours.withConnection { try await FleetSchema.prepare($0, server: newerURL, procwatchVersion: "t", logger: logger) }
            try server.psql("INSERT INTO procwatch.schema (application, version, procwatch_version) VALUES ('procwatch', 7, 'future')", database: newer)
            await #expect(throws: FleetError.newerSchema(server: newerURL, version: 7)) {
                try await ours.withConnection { try await FleetSchema.prepare($0, server: newerURL, procwatchVersion: "t", logger: logger) }
            }
        }
    }

    @Test func connectionFailuresAreOneLine() async throws {
        try await TestPostgres.with { server in
            let database = try server.createDatabase()
            let wrong = try connector(server, database: database, password: "not-the-password")
            await #expect(throws: FleetError.authentication(server: wrong.url.redacted, user: "procwatch",
                                                            reason: "password authentication failed for user \"procwatch\"")) {
                _ = try await wrong.connect()
            }
            let missing = try connector(server, database: "nosuchdb")
            await #expect(throws: FleetError.noSuchDatabase(server: missing.url.redacted)) { _ = try await missing.connect() }
            try server.stop()
            let down = try connector(server, database: database)
            do {
                _ = try await down.connect()
                Issue.record("connected to a stopped server")
            } catch let error as FleetError {
                guard case .unreachable(let name, _) = error else { Issue.record("\(error)"); return }
                #expect(name == "postgresql://procwatch@127.0.0.1:\(server.port)/\(database)")
            }
            try server.start()
        }
    }
}
