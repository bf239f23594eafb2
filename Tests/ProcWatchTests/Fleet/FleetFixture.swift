import Logging
@testable import ProcWatchFleet

/// A fleet store with three hosts' known history, written with SQL as the schema says (the
/// writing side is not under test here): web1 ran a build (make, cc1, a failing ld), web2 an
/// nginx check and a failing curl, db1 a pg_dump and a backup script killed by SIGKILL.
/// Every recording started at 2026-11-23T00:00:00Z (kernel clock 1000 s) and ended at 03:00.
enum FleetFixture {
    /// 2026-11-23T00:00:00Z in Unix seconds; the recordings' kernel clock reads 1000 s then.
    static let start: Int64 = 1_795_392_000
    static let offsetNanoseconds: Int64 = (start - 1000) * 1_000_000_000

    /// The hosts: id, name, machine id.
    static let hosts: [(id: Int, name: String, machine: String)] = [
        (1, "web1", "1111aaaa2222bbbb3333cccc4444dddd"),
        (2, "web2", "5555eeee6666ffff7777aaaa8888bbbb"),
        (3, "db1", "9999cccc0000dddd1111eeee2222ffff"),
    ]

    /// A recording id per host.
    static func recording(_ host: Int) -> String { "00000000-0000-4000-8000-00000000000\(host)" }

    /// One process: host, id, pid, ppid, parent, start and end (seconds after the start),
    /// comm, command line (JSON), uid, raw wait status, CPU user and system µs.
    struct Process {
        var host: Int, id: Int, pid: Int, ppid: Int, parent: Int?, start: Int, end: Int
        var comm: String, cmdline: String, uid: Int, exitCode: Int, user: Int, system: Int
        /// web2's nginx runs in a Docker container.
        var container: String? = nil
    }

    static let nginxContainer = "4f1c2b3a5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708"

    static let processes: [Process] = [
        Process(host: 1, id: 1, pid: 100, ppid: 1, parent: nil, start: 10, end: 70, comm: "make", cmdline: #"["make","-j2"]"#,
                uid: 1000, exitCode: 0, user: 2_000_000, system: 500_000),
        Process(host: 1, id: 2, pid: 101, ppid: 100, parent: 1, start: 11, end: 41, comm: "cc1", cmdline: #"["/usr/lib/gcc/cc1","main.c"]"#,
                uid: 1000, exitCode: 0, user: 20_000_000, system: 1_000_000),
        Process(host: 1, id: 3, pid: 102, ppid: 100, parent: 1, start: 42, end: 43, comm: "ld", cmdline: #"["ld","-o","app"]"#,
                uid: 1000, exitCode: 256, user: 300_000, system: 100_000),
        Process(host: 2, id: 1, pid: 200, ppid: 1, parent: nil, start: 20, end: 80, comm: "nginx", cmdline: #"["/usr/sbin/nginx","-t"]"#,
                uid: 0, exitCode: 0, user: 1_000_000, system: 0, container: Self.nginxContainer),
        Process(host: 2, id: 2, pid: 201, ppid: 200, parent: 1, start: 30, end: 31, comm: "curl", cmdline: #"["curl","http://x"]"#,
                uid: 0, exitCode: 1792, user: 100_000, system: 50_000, container: Self.nginxContainer),
        Process(host: 3, id: 1, pid: 300, ppid: 1, parent: nil, start: 5, end: 3605, comm: "pg_dump", cmdline: #"["pg_dump","app"]"#,
                uid: 999, exitCode: 0, user: 30_000_000, system: 5_000_000),
        Process(host: 3, id: 2, pid: 301, ppid: 1, parent: nil, start: 7200, end: 7201, comm: "backup.sh", cmdline: #"["/bin/sh","backup.sh"]"#,
                uid: 0, exitCode: 9, user: 10_000, system: 0),
    ]

    /// `T0 + seconds` as SQL.
    static func time(_ seconds: Int) -> String { "'epoch'::timestamptz + interval '1 second' * \(Int(start) + seconds)" }
    static func ktime(_ seconds: Int) -> Int64 { Int64(1000 + seconds) * 1_000_000_000 }

    /// The SQL that writes it (after ``FleetSchema/prepare``).
    static var sql: String {
        var statements: [String] = []
        for host in hosts {
            statements.append("""
                INSERT INTO procwatch.hosts (id, machine_id, name, boot_id, kernel, procwatch_version, first_seen, last_seen, last_event)
                VALUES (\(host.id), '\(host.machine)', '\(host.name)', 'boot-\(host.id)', 'Linux 6.18.0', '1.4.0', \(time(0)),
                        \(time(10_800)), \(time(10_790 + host.id)))
                """)
            statements.append("""
                INSERT INTO procwatch.recordings (id, host, schema_version, program, boot_id, arguments, started, started_ktime_ns,
                    clock_offset_ns, ended, ended_ktime_ns, end_reason, taskstats)
                VALUES ('\(recording(host.id))', \(host.id), 1, 'procwatch daemon', 'boot-\(host.id)', '["daemon"]', \(time(0)),
                        \(ktime(0)), \(offsetNanoseconds), \(time(10_800)), \(ktime(10_800)), 'signal', true)
                """)
        }
        for p in processes {
            let failed = p.exitCode != 0
            let status = p.exitCode & 0x7F == 0 ? #"{"exited": \#(p.exitCode >> 8)}"# : #"{"signaled": \#(p.exitCode & 0x7F), "core": false}"#
            statements.append("""
                INSERT INTO procwatch.processes (host, recording, id, pid, ppid, parent, forked, first_seen, first_seen_ktime_ns,
                    start_ktime_ns, end_ktime_ns, comm, cmdline, execs, uid, uid_changes, threads, exit_code, status, failed,
                    duration_s, cpu_user_us, cpu_system_us, peak_rss_kb, read_bytes, write_bytes, container_id, container_runtime)
                VALUES (\(p.host), '\(recording(p.host))', \(p.id), \(p.pid), \(p.ppid), \(p.parent.map(String.init) ?? "NULL"), true,
                        \(time(p.start)), \(ktime(p.start)), \(ktime(p.start)), \(ktime(p.end)), '\(p.comm)', '\(p.cmdline)',
                        '[[\(ktime(p.start)), \(p.cmdline)]]', \(p.uid), '[]', 0, \(p.exitCode), '\(status)', \(failed),
                        \(p.end - p.start), \(p.user), \(p.system), 1024, 0, 0,
                        \(p.container.map { "'\($0)', 'docker'" } ?? "NULL, NULL"))
                """)
            for (event, second) in [("exec", p.start), ("exit", p.end)] {
                statements.append("""
                    INSERT INTO procwatch.events (host, recording, batch, process, event, time, ktime_ns, pid, comm)
                    VALUES (\(p.host), '\(recording(p.host))', 1, \(p.id), '\(event)', \(time(second)), \(ktime(second)), \(p.pid), '\(p.comm)')
                    """)
            }
        }
        return statements.joined(separator: ";\n")
    }

    /// A new database on `server` holding the fixture; returns its name.
    static func create(on server: TestPostgres) async throws -> String {
        let database = try server.createDatabase()
        let url = try FleetURL(parsing: server.url(database: database), environment: [:])
        let logger = Logger(label: "test")
        let connector = FleetConnector(url: url, password: TestPostgres.password, logger: logger)
        _ = try await connector.withConnection { try await FleetSchema.prepare($0, server: url.redacted, procwatchVersion: "test", logger: logger) }
        try server.psql(sql, database: database)
        return database
    }
}
