import Foundation
import Glibc
import Testing

/// `procwatch daemon --sink` and `procwatch record --to` as built, against a real PostgreSQL
/// and the real kernel: what the fleet store gets equals, row for row, what the local history
/// got in the same run; the one-line refusals.
@Suite("Fleet sink end to end", .serialized, .enabled(if: TestPostgres.isAvailable, "needs PostgreSQL and root"))
struct FleetDaemonSinkTests {
    /// Sorted `a|b|…` rows of an SQLite query.
    static func sqlite(_ path: String, _ sql: String) throws -> [String] { try StoreWorkload.rows(path, sql).sorted() }

    /// Sorted rows of a PostgreSQL query.
    static func postgres(_ server: TestPostgres, _ database: String, _ sql: String) throws -> [String] {
        let text = try server.psql(sql, database: database)
        return text.isEmpty ? [] : text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).sorted()
    }

    /// `key|[json]` rows as key → the JSON's strings (jsonb's text and SQLite's differ in spaces).
    static func commandLines(_ rows: [String]) -> [String: [String]] {
        var lines: [String: [String]] = [:]
        for row in rows {
            guard let bar = row.firstIndex(of: "|") else { continue }
            let json = Data(row[row.index(after: bar)...].utf8)
            lines[String(row[..<bar])] = (try? JSONSerialization.jsonObject(with: json)) as? [String]
        }
        return lines
    }

    @Test func theFleetStoreGetsWhatTheHistoryGot() async throws {
        try await TestPostgres.with { server in
            let database = try server.createDatabase()
            try await DaemonLifecycleTests.withStateDirectory { directory in
                let daemon = try RunningProcwatch(
                    ["daemon", "--state-dir", directory, "--socket", directory + "/s.sock", "--source", DaemonEndToEndTests.source,
                     "--sink", server.url(database: database)], environment: ["PGPASSWORD=\(TestPostgres.password)"])
                defer { daemon.end() }
                #expect(await eventually(timeout: .seconds(20)) { daemon.stderr.contains("recording into") }, "\(daemon.stderr)")
                let marker = "fleet-e2e-\(getpid())"
                for round in 0..<20 {
                    _ = try Spawn.run(["/bin/sh", "-c", "/bin/sleep 0.01; /bin/true \"$1\" 'tab\there'", "sh", "\(marker)-\(round)"])
                }
                try DaemonEndToEndTests.stopDaemon(daemon)
                let history = directory + "/history.db"
                let local = try Self.sqlite(history, """
                    SELECT event, coalesce(pid, -1), coalesce(tid, -1), ktime_ns, time, coalesce(exit_code, -1), coalesce(comm, '-') FROM events
                    """)
                let fleet = try Self.postgres(server, database, """
                    SELECT event, coalesce(pid, -1), coalesce(tid, -1), ktime_ns,
                           to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), coalesce(exit_code, -1), coalesce(comm, '-')
                    FROM procwatch.events
                    """)
                #expect(local.count > 100)
                #expect(fleet.count == local.count)
                #expect(fleet == local)
                let localLines = Self.commandLines(try Self.sqlite(history, "SELECT ktime_ns || ':' || tid, cmdline FROM events WHERE cmdline IS NOT NULL"))
                let fleetLines = Self.commandLines(try Self.postgres(server, database, "SELECT ktime_ns || ':' || tid, cmdline::text FROM procwatch.events WHERE cmdline IS NOT NULL"))
                #expect(fleetLines == localLines)
                // The connector reads a command line from /proc, which a process this short may
                // have left: some rounds, not every one, are named (the kernel-side source names all).
                #expect(localLines.values.contains { $0.count == 3 && $0[0] == "/bin/true" && $0[1].hasPrefix(marker + "-") && $0[2] == "tab\there" })
                let processes = "id, pid, ppid, coalesce(parent, -1), coalesce(exit_code, -1), threads, comm"
                #expect(try Self.postgres(server, database, "SELECT \(processes) FROM procwatch.processes")
                        == (try Self.sqlite(history, "SELECT \(processes) FROM processes")))
                #expect(try server.psql("SELECT end_reason FROM procwatch.recordings", database: database) == "signal")
                #expect(DaemonLog.messages(daemon.stderr, startingWith: "sink").isEmpty)
            }
        }
    }

    @Test func anUnreachableServerDoesNotStopTheDaemonAWrongPasswordDoes() async throws {
        try await TestPostgres.with { server in
            let database = try server.createDatabase()
            try await DaemonLifecycleTests.withStateDirectory { directory in
                let url = server.url(database: database)
                let common = ["daemon", "--state-dir", directory, "--socket", directory + "/s.sock", "--source", DaemonEndToEndTests.source,
                              "--sink", url]
                let refused = try RunningProcwatch(common, environment: ["PGPASSWORD=wrong"])
                defer { refused.end() }
                #expect(refused.wait(timeout: .seconds(20)) == 69 << 8)
                // Its last line (the log lines of the start and the socket's removal come before).
                #expect(refused.stderr.split(separator: "\n").last.map(String.init)
                        == "procwatch: daemon: sink: postgresql://procwatch@127.0.0.1:\(server.port)/\(database):"
                        + " the server refused user \"procwatch\": password authentication failed for user \"procwatch\"", "\(refused.stderr)")

                try server.stop()
                let daemon = try RunningProcwatch(common, environment: ["PGPASSWORD=\(TestPostgres.password)"])
                defer { daemon.end() }
                #expect(await eventually(timeout: .seconds(20)) { daemon.stderr.contains("recording into") }, "\(daemon.stderr)")
                #expect(DaemonLog.messages(daemon.stderr, startingWith: "sink: cannot reach").count == 1)
                let marker = "fleet-outage-\(getpid())"
                // Lives 50 ms: long enough for the connector to read its command line too.
                _ = try Spawn.run(["/bin/sh", "-c", "/bin/sleep 0.05", marker])
                try server.start()
                #expect(await eventually(timeout: .seconds(30)) {
                    (try? server.psql("SELECT count(*) FROM procwatch.events WHERE event = 'exec' AND cmdline->>3 = '\(marker)'", database: database)) == "1"
                }, "\(daemon.stderr)")
                #expect(DaemonLog.messages(daemon.stderr, startingWith: "postgresql://").count == 1)  // "… answers again"
                try DaemonEndToEndTests.stopDaemon(daemon)
            }
        }
    }

    @Test func recordToWritesTheCommandsTreeAndRefusesInOneLine() async throws {
        try await TestPostgres.with { server in
            let database = try server.createDatabase()
            let url = server.url(database: database)
            let marker = "fleet-record-\(getpid())"
            let record = try RunningProcwatch(["record", "--to", url, "--", "/bin/sh", "-c", "/bin/true \"$1\"; exit 3", "sh", marker],
                                              environment: ["PGPASSWORD=\(TestPostgres.password)"])
            defer { record.end() }
            #expect(record.wait(timeout: .seconds(60)) == 3 << 8, "\(record.stderr)")
            #expect(try server.psql("SELECT count(*) FROM procwatch.events WHERE event = 'exec' AND cmdline->>1 = '\(marker)'", database: database) == "1")
            #expect(try server.psql("SELECT end_reason, command->>0 FROM procwatch.recordings", database: database) == "command|/bin/sh")
            #expect(try server.psql("SELECT exit_code FROM procwatch.processes WHERE cmdline->>0 = '/bin/sh'", database: database) == "768")

            let withPassword = "postgresql://procwatch:secret@127.0.0.1:\(server.port)/\(database)"
            let refused = try RunningProcwatch(["record", "--to", withPassword, "--", "/bin/true"])
            defer { refused.end() }
            #expect(refused.wait(timeout: .seconds(20)) == 64 << 8)
            #expect(refused.stderr == "procwatch: record: postgresql://procwatch@127.0.0.1:\(server.port)/\(database): a password on the command line"
                    + " is visible to every user in ps; use PGPASSWORD, ~/.pgpass or the daemon's configuration file (mode 0600)\n")

            let wrong = try RunningProcwatch(["record", "--to", url, "--", "/bin/true"], environment: ["PGPASSWORD=wrong"])
            defer { wrong.end() }
            #expect(wrong.wait(timeout: .seconds(20)) == 69 << 8)
            #expect(wrong.stderr == "procwatch: record: \(url.replacingOccurrences(of: "?sslmode=disable", with: "")): the server refused user"
                    + " \"procwatch\": password authentication failed for user \"procwatch\"\n")

            try server.stop()
            let unreachable = try RunningProcwatch(["record", "--to", url, "--", "/bin/true"], environment: ["PGPASSWORD=\(TestPostgres.password)"])
            defer { unreachable.end() }
            #expect(unreachable.wait(timeout: .seconds(30)) == 69 << 8)
            #expect(unreachable.stderr.hasPrefix("procwatch: record: cannot reach postgresql://procwatch@127.0.0.1:\(server.port)/\(database): "))
            #expect(unreachable.stderr.split(separator: "\n").count == 1)
            try server.start()
        }
    }
}
