import Testing

/// The README's fleet SQL, taken from the README as written and run on ``FleetFixture``'s
/// three hosts: each query's rows exactly (psql's unaligned output, `|` between columns).
@Suite(.enabled(if: TestPostgres.isAvailable, "needs PostgreSQL and root"))
struct FleetReadmeSQLTests {
    /// The ```sql block after `<!-- fleet-sql: NAME -->` in the README.
    static func query(_ name: String) throws -> String {
        let readme = try LiveKernelTests.ReadmeExampleTests.readme
        let marker = try #require(readme.range(of: "<!-- fleet-sql: \(name) -->\n```sql\n"))
        let end = try #require(readme[marker.upperBound...].range(of: "```"))
        return String(readme[marker.upperBound..<end.lowerBound])
    }

    @Test func readmeQueriesGiveTheirRows() async throws {
        try await TestPostgres.with { server in
            let database = try await FleetFixture.create(on: server)
            #expect(try server.psql(Self.query("which-host"), database: database) == "web2|1")
            #expect(try server.psql(Self.query("failed-last-night"), database: database) == """
                web2|201|curl|{"exited": 7}|2026-11-23 00:00:30
                web1|102|ld|{"exited": 1}|2026-11-23 00:00:42
                db1|301|/bin/sh|{"core": false, "signaled": 9}|2026-11-23 02:00:00
                """)
            #expect(try server.psql(Self.query("top-cpu-per-host"), database: database) == """
                db1|pg_dump|35.00
                db1|sh|0.01
                web1|cc1|21.00
                web1|make|2.50
                web2|nginx|1.00
                web2|curl|0.15
                """)
        }
    }
}
