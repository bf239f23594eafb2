import Testing
@testable import ProcWatchFleet

/// Stores the readers cannot use, through the real `procwatch`: each one line `procwatch: …`
/// and the command's status for a store it cannot read (`report`: 64, as for a file;
/// `history` and `hosts`: 1), 64 for bad input (a password on the command line, an unknown host).
@Suite(.enabled(if: TestPostgres.isAvailable, "needs PostgreSQL and root"))
struct FleetReaderFailureTests {
    /// Runs `report`, `history` and `hosts` on `url`; expects `message` (after `procwatch: `)
    /// and the statuses (report's, the others').
    func expectEveryReader(_ url: String, says message: String, report: Int32 = 64, others: Int32 = 1,
                           environment: [String] = ["PGPASSWORD=\(TestPostgres.password)"],
                           sourceLocation: SourceLocation = #_sourceLocation) throws {
        for (command, status) in [("report", report), ("history", others), ("hosts", others)] {
            let run = try FleetReadTests.procwatch([command, "--from", url], environment: environment)
            #expect(run.status == status, "\(command): \(run.stderr)", sourceLocation: sourceLocation)
            #expect(run.lines == [], sourceLocation: sourceLocation)
            #expect(run.stderr == "procwatch: \(message)\n", "\(command)", sourceLocation: sourceLocation)
        }
    }

    @Test func unusableStoresAreOneLineEach() async throws {
        try await TestPostgres.with { server in
            let fixture = try await FleetFixture.create(on: server)
            let url = server.url(database: fixture)
            let name = FleetReadTests.redacted(url)
            try expectEveryReader(url, says: "\(name): the server refused user \"procwatch\": password authentication failed for user \"procwatch\"",
                                  environment: ["PGPASSWORD=wrong"])
            try expectEveryReader(server.url(database: "nosuch"), says: "postgresql://procwatch@127.0.0.1:\(server.port)/nosuch: no such database")

            let empty = try server.createDatabase()
            try expectEveryReader(server.url(database: empty), says: "postgresql://procwatch@127.0.0.1:\(server.port)/\(empty) holds no procwatch history yet (no procwatch schema in it)")

            let foreign = try server.createDatabase()
            try server.psql("CREATE TABLE public.invoices (id int)", database: foreign)
            try expectEveryReader(server.url(database: foreign),
                                  says: "postgresql://procwatch@127.0.0.1:\(server.port)/\(foreign) holds another program's tables (public.invoices): give procwatch a database of its own")

            let newer = try await FleetFixture.create(on: server)
            try server.psql("INSERT INTO procwatch.schema (application, version, procwatch_version) VALUES ('procwatch', 2, 'future')", database: newer)
            try expectEveryReader(server.url(database: newer),
                                  says: "postgresql://procwatch@127.0.0.1:\(server.port)/\(newer) has procwatch schema version 2, newer than this procwatch's (1): use a newer procwatch")

            // Bad input: 64 from every reader.
            let typed = "postgresql://procwatch:\(TestPostgres.password)@127.0.0.1:\(server.port)/\(fixture)?sslmode=disable"
            try expectEveryReader(typed, says: "\(name): a password on the command line is visible to every user in ps; use PGPASSWORD, ~/.pgpass or the daemon's configuration file (mode 0600)",
                                  others: 64)
            for command in ["report", "history"] {
                let run = try FleetReadTests.procwatch([command, "--from", url, "--host", "web1,web9"])
                #expect(run.status == 64 && run.lines == [], "\(command)")
                #expect(run.stderr == "procwatch: \(name) holds no host web9 (known: db1, web1, web2)\n")
            }

            try server.stop()
            for (command, status) in [("report", Int32(64)), ("history", 1), ("hosts", 1)] {
                let run = try FleetReadTests.procwatch([command, "--from", url])
                #expect(run.status == status && run.lines == [], "\(command)")
                #expect(run.stderr.hasPrefix("procwatch: cannot reach \(name): ") && run.stderr.filter { $0 == "\n" }.count == 1, "\(run.stderr)")
            }
        }
    }

    @Test func fileAndFromAreOneOrTheOther() throws {
        let cases: [([String], String)] = [
            (["report"], "give the recording FILE or --from postgresql://… (the fleet store)"),
            (["report", "x.db", "--from", "postgresql://h/d"], "FILE and --from both name what to report: use one"),
            (["report", "x.db", "--host", "web1"], "--host chooses hosts of the fleet store: use it with --from"),
            (["report", "--from", "postgresql://h/d", "--last"],
             "--recording and --last choose a recording of a file: with --from, choose by --host, --since and --until"),
            (["history", "--file", "x.db", "--from", "postgresql://h/d"], "--state-dir, --file and --from each name the history: use one"),
            (["history", "--host", "web1"], "--host chooses hosts of the fleet store: use it with --from"),
        ]
        for (arguments, message) in cases {
            let run = try FleetReadTests.procwatch(arguments)
            #expect(run.status == 64, "\(arguments)")
            #expect(run.stderr == "procwatch: \(message)\n", "\(arguments)")
        }
    }
}
