import Foundation
import Glibc
import Testing
@testable import ProcWatchFleet

/// `procwatch report --from`, `history --from` and `hosts` run as a user would, on a fleet
/// store holding ``FleetFixture``'s three hosts.
@Suite(.enabled(if: TestPostgres.isAvailable, "needs PostgreSQL and root"))
struct FleetReadTests {
    /// `procwatch ARGUMENTS` with the test role's password in `PGPASSWORD` (and no password
    /// file): exit status, standard output's lines, standard error.
    static func procwatch(_ arguments: [String], environment: [String] = ["PGPASSWORD=\(TestPostgres.password)"])
        throws -> (status: Int32, lines: [String], stderr: String) {
        let run = try Spawn.capture(["/usr/bin/env", "PGPASSFILE=/nonexistent", "PGSERVICEFILE=/nonexistent", "PGSYSCONFDIR=/nonexistent"]
                                    + environment + [Spawn.procwatchBinary] + arguments)
        let lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        return (run.status & 0x7F == 0 ? run.status >> 8 : -run.status, lines, run.stderr)
    }

    static let historyHeader = "START                       HOST         USER         PID        LIFETIME             CPU EXIT              COMMAND"
    static let historyLines = [
        "2026-11-23T00:00:05.000000Z db1          999          300    3600.000000s      35.000000s exit 0            pg_dump app",
        "2026-11-23T00:00:10.000000Z web1         1000         100      60.000000s       2.500000s exit 0            make -j2",
        "2026-11-23T00:00:11.000000Z web1         1000         101      30.000000s      21.000000s exit 0            /usr/lib/gcc/cc1 main.c",
        "2026-11-23T00:00:20.000000Z web2         0            200      60.000000s       1.000000s exit 0            /usr/sbin/nginx -t",
        "2026-11-23T00:00:30.000000Z web2         0            201       1.000000s       0.150000s exit 7            curl http://x",
        "2026-11-23T00:00:42.000000Z web1         1000         102       1.000000s       0.400000s exit 1            ld -o app",
        "2026-11-23T02:00:00.000000Z db1          0            301       1.000000s       0.010000s killed by SIGKILL /bin/sh backup.sh",
    ]

    @Test func historyListsEveryHostsProcessesByStartWithEachFilter() async throws {
        try await TestPostgres.with { server in
            let url = server.url(database: try await FleetFixture.create(on: server))
            let all = try Self.procwatch(["history", "--from", url])
            #expect(all.status == 0, "\(all.stderr)")
            #expect(all.lines == [Self.historyHeader] + Self.historyLines)
            #expect(all.stderr == "")
            let cases: [([String], [Int])] = [
                (["--host", "web1"], [1, 2, 5]),
                (["--host", "web2,db1"], [0, 3, 4, 6]),
                (["--host", "web2", "--host", "9999cccc"], [0, 3, 4, 6]),  // a machine id's start names db1
                (["--failed"], [4, 5, 6]),
                (["--failed", "--host", "web1"], [5]),
                (["--since", "2026-11-23T00:00:11Z", "--until", "2026-11-23T00:00:42Z"], [2, 3, 4]),
                (["--comm", "^(cc1|sh)$"], [2, 6]),
                (["--user", "0"], [3, 4, 6]),
                (["--limit", "2"], [5, 6]),
                (["--limit", "2", "--host", "web2"], [3, 4]),
            ]
            for (arguments, expected) in cases {
                let run = try Self.procwatch(["history", "--from", url] + arguments)
                #expect(run.status == 0, "\(arguments): \(run.stderr)")
                #expect(run.lines == [Self.historyHeader] + expected.map { Self.historyLines[$0] }, "\(arguments)")
            }
            let json = try Self.procwatch(["history", "--from", url, "--failed", "--json"])
            #expect(json.lines == [
                #"{"start":"2026-11-23T00:00:30.000000Z","host":"web2","uid":0,"user":"0","pid":201,"ppid":200,"comm":"curl","cmdline":["curl","http://x"],"duration_s":1.000000,"cpu_user_us":100000,"cpu_system_us":50000,"status":{"exited":7}}"#,
                #"{"start":"2026-11-23T00:00:42.000000Z","host":"web1","uid":1000,"user":"1000","pid":102,"ppid":100,"comm":"ld","cmdline":["ld","-o","app"],"duration_s":1.000000,"cpu_user_us":300000,"cpu_system_us":100000,"status":{"exited":1}}"#,
                #"{"start":"2026-11-23T02:00:00.000000Z","host":"db1","uid":0,"user":"0","pid":301,"ppid":1,"comm":"backup.sh","cmdline":["/bin/sh","backup.sh"],"duration_s":1.000000,"cpu_user_us":10000,"cpu_system_us":0,"status":{"signaled":9,"core":false}}"#,
            ])
            let none = try Self.procwatch(["history", "--from", url, "--host", "web1", "--comm", "^nginx$"])
            #expect(none.status == 1 && none.lines == [])
            #expect(none.stderr == "procwatch: no process in \(Self.redacted(url)) matches --host web1 --comm '^nginx$'\n")
        }
    }

    /// The server as messages name it (the URL without its query).
    static func redacted(_ url: String) -> String { String(url.split(separator: "?")[0]) }

    @Test func reportOverTheFleetNamesHostsWhenItSpansSeveral() async throws {
        try await TestPostgres.with { server in
            let url = server.url(database: try await FleetFixture.create(on: server))
            let all = try Self.procwatch(["report", "--from", url])
            #expect(all.status == 0, "\(all.stderr)")
            #expect(all.lines == [
                "procwatch report: \(Self.redacted(url))",
                "  span       2026-11-23T00:00:00.000000Z to 2026-11-23T03:00:00.000000Z (10800.000000 s)",
                "  recording  #1 on web1 (Linux 6.18.0), ended by signal",
                "  recording  #2 on web2 (Linux 6.18.0), ended by signal",
                "  recording  #3 on db1 (Linux 6.18.0), ended by signal",
                "  processes  7 (3 failed, 0 threads)",
                "  events     14 (exec 7, exit 7)",
                "  lost       0 events in 0 reports",
                "process tree (host, lifetime, CPU, exit):",
                "  db1   300 pg_dump app  3600.000000s  cpu 35.000000s  exit 0",
                "  web1  100 make -j2  60.000000s  cpu 2.500000s  exit 0",
                "  web1    101 /usr/lib/gcc/cc1 main.c  30.000000s  cpu 21.000000s  exit 0",
                "  web1    102 ld -o app  1.000000s  cpu 0.400000s  exit 1",
                "  web2  200 /usr/sbin/nginx -t  60.000000s  cpu 1.000000s  exit 0",
                "  web2    201 curl http://x  1.000000s  cpu 0.150000s  exit 7",
                "  db1   301 /bin/sh backup.sh  1.000000s  cpu 0.010000s  killed by SIGKILL",
                "top commands by count:",
                "  COMMAND                   COUNT         CPU        WALL",
                "  cc1                           1  21.000000s  30.000000s",
                "  curl                          1   0.150000s   1.000000s",
                "  ld                            1   0.400000s   1.000000s",
                "  make                          1   2.500000s  60.000000s",
                "  nginx                         1   1.000000s  60.000000s",
                "top commands by CPU:",
                "  COMMAND                   COUNT         CPU        WALL",
                "  pg_dump                       1  35.000000s 3600.000000s",
                "  cc1                           1  21.000000s  30.000000s",
                "  make                          1   2.500000s  60.000000s",
                "  nginx                         1   1.000000s  60.000000s",
                "  ld                            1   0.400000s   1.000000s",
                "top commands by wall time:",
                "  COMMAND                   COUNT         CPU        WALL",
                "  pg_dump                       1  35.000000s 3600.000000s",
                "  make                          1   2.500000s  60.000000s",
                "  nginx                         1   1.000000s  60.000000s",
                "  cc1                           1  21.000000s  30.000000s",
                "  curl                          1   0.150000s   1.000000s",
                "by container:",
                "  CONTAINER     RUNTIME          PROCESSES  FAILED         CPU",
                "  (host)        -                        5       2  58.910000s",
                "  4f1c2b3a5d6e  docker                   2       1   1.150000s",
                "failed exits:",
                "  web2  201 curl http://x  exit 7",
                "  web1  102 ld -o app  exit 1",
                "  db1   301 /bin/sh backup.sh  killed by SIGKILL",
            ])

            // One host: the file report's layout, no host column.
            let one = try Self.procwatch(["report", "--from", url, "--host", "web1", "--since", "2026-11-23T00:00:00Z"])
            #expect(one.status == 0, "\(one.stderr)")
            #expect(Array(one.lines.prefix(11)) == [
                "procwatch report: \(Self.redacted(url))",
                "  span       2026-11-23T00:00:00.000000Z to 2026-11-23T03:00:00.000000Z (10800.000000 s)",
                "  recording  #1 on web1 (Linux 6.18.0), ended by signal",
                "  processes  3 (1 failed, 0 threads)",
                "  events     6 (exec 3, exit 3)",
                "  lost       0 events in 0 reports",
                "process tree (lifetime, CPU, exit):",
                "  100 make -j2  60.000000s  cpu 2.500000s  exit 0",
                "    101 /usr/lib/gcc/cc1 main.c  30.000000s  cpu 21.000000s  exit 0",
                "    102 ld -o app  1.000000s  cpu 0.400000s  exit 1",
                "top commands by count:",
            ])
            #expect(Array(one.lines.suffix(2)) == ["failed exits:", "  102 ld -o app  exit 1"])

            // JSON: each process's host.
            let json = try Self.procwatch(["report", "--from", url, "--json", "--comm", "^(make|ld|curl)$"])
            #expect(json.status == 0, "\(json.stderr)")
            let document = try #require(try JSONSerialization.jsonObject(with: Data(json.lines.joined(separator: "\n").utf8)) as? [String: Any])
            let failed = try #require(document["failed"] as? [[String: Any]])
            #expect(failed.map { "\($0["host"] ?? "-") \($0["pid"] ?? "-")" } == ["web2 201", "web1 102"])
            let tree = try #require(document["tree"] as? [[String: Any]])
            #expect(tree.map { "\($0["host"] ?? "-") \($0["comm"] ?? "-")" } == ["web1 make", "web2 curl"])
            let children = try #require(tree.first?["children"] as? [[String: Any]])
            #expect(children.map { "\($0["host"] ?? "-") \($0["comm"] ?? "-")" } == ["web1 ld"])

            // The timeline reads the same model.
            let directory = try TemporaryDirectory()
            let svg = try Self.procwatch(["report", "--from", url, "--host", "db1", "--svg", directory.path + "/t.svg"])
            #expect(svg.status == 0, "\(svg.stderr)")
            let drawn = try String(contentsOfFile: directory.path + "/t.svg", encoding: .utf8)
            #expect(drawn.hasPrefix("<svg") && drawn.contains("pg_dump") && !drawn.contains("make"))
        }
    }

    @Test func hostsListsEachMachineWithItsLag() async throws {
        try await TestPostgres.with { server in
            let database = try await FleetFixture.create(on: server)
            let url = server.url(database: database)
            // Lags whose rounding a slow test cannot change: 2d03h and 1h30m, db1 without events.
            try server.psql("""
                UPDATE procwatch.hosts SET last_event = now() - interval '2 days 3 hours 30 minutes' WHERE name = 'web1';
                UPDATE procwatch.hosts SET last_event = now() - interval '90 minutes 20 seconds' WHERE name = 'web2';
                UPDATE procwatch.hosts SET last_event = NULL WHERE name = 'db1'
                """, database: database)
            let times = try server.psql("""
                SELECT coalesce(to_char(last_event AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), '-') FROM procwatch.hosts ORDER BY name
                """, database: database).split(separator: "\n").map(String.init)
            let run = try Self.procwatch(["hosts"], environment: ["PGPASSWORD=\(TestPostgres.password)", "PROCWATCH_FLEET=\(url)"])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.lines == [
                "HOST             MACHINE      KERNEL                 PROCWATCH    LAST EVENT                       LAG LAST WRITE",
                "db1              9999cccc0000 Linux 6.18.0           1.4.0        -                                  - 2026-11-23T03:00:00.000000Z",
                "web1             1111aaaa2222 Linux 6.18.0           1.4.0        \(times[1])    2d03h 2026-11-23T03:00:00.000000Z",
                "web2             5555eeee6666 Linux 6.18.0           1.4.0        \(times[2])    1h30m 2026-11-23T03:00:00.000000Z",
            ])
            let json = try Self.procwatch(["hosts", "--from", url, "--json"])
            #expect(json.lines.first
                    == #"{"name":"db1","machine_id":"9999cccc0000dddd1111eeee2222ffff","kernel":"Linux 6.18.0","procwatch_version":"1.4.0","last_write":"2026-11-23T03:00:00.000000Z"}"#)
            let last = try #require(json.lines.last)
            let web2 = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
            #expect(web2["name"] as? String == "web2" && (5420...5480).contains(web2["lag_s"] as? Int ?? 0), "\(web2)")
            let missing = try Self.procwatch(["hosts"], environment: [])
            #expect(missing.status == 64 && missing.stderr == "procwatch: hosts needs the fleet store: --from postgresql://… or PROCWATCH_FLEET\n")
        }
    }

    @Test func lagIsItsTwoLargestUnits() {
        let second: Int64 = 1_000_000_000
        let cases: [(Int64, String)] = [(-5, "0s"), (0, "0s"), (59, "59s"), (60, "1m00s"), (3599, "59m59s"), (3600, "1h00m"),
                                         (86_399, "23h59m"), (86_400, "1d00h"), (90_061, "1d01h"), (864_000, "10d00h")]
        for (seconds, text) in cases { #expect(FleetHost.lag(seconds * second) == text, "\(seconds)") }
    }
}
