import Foundation
import Glibc
import GRDB
import Testing

/// `procwatch daemon` with the kernel-side source, end to end: a real Prometheus scraping it
/// (failed execs exist only there), and `kill -9` under load (safe only there: a killed
/// connector listener would leak the kernel's listener count).
@Suite("Daemon end to end, kernel-side", .serialized, .enabled(if: kernelWatchersAvailable, "needs root and libbpf.so.1"))
struct DaemonKernelSideEndToEndTests {
    /// One number of an instant query's single series (`sum(…)`: no labels); nil when none.
    static func value(_ prometheus: PrometheusServer, _ promql: String) throws -> Double? {
        let series = try prometheus.query(promql)
        guard series.count <= 1 else { throw PrometheusServer.Failure(description: "\(promql): several series \(series)") }
        return series.values.first.flatMap(Double.init)
    }

    /// Waits (at most 10 s) until Prometheus holds a scrape of the daemon that began after
    /// now plus `margin` — one that saw everything the daemon counted before this call.
    static func waitForNextScrape(_ prometheus: PrometheusServer, margin: Double = 0.1) throws {
        let after = Date().timeIntervalSince1970 + margin
        let scraped = eventually(timeout: .seconds(10)) {
            ((try? value(prometheus, "max(timestamp(procwatch_events_total))")) ?? 0) > after
        }
        guard scraped else { throw PrometheusServer.Failure(description: "no scrape after \(after)") }
    }

    @Test(.enabled(if: PrometheusServer.isAvailable, "needs prometheus (scripts/test installs it)"))
    func prometheusScrapesTheDaemon() async throws {
        try await DaemonLifecycleTests.withStateDirectory { directory in
            let socket = directory + "/s.sock"
            let port = try PrometheusServer.freePort()
            let daemon = try DaemonLifecycleTests.startDaemon(["--state-dir", directory, "--socket", socket, "--source", "bpf",
                                                               "--metrics", "127.0.0.1:\(port)"])
            defer { daemon.end() }
            // Two clients, kept connected: one takes the failed execs, one the execs.
            let failures = try RunningProcwatch(["--connect", socket, "--json", "-e", "execfail"])
            defer { failures.end() }
            let execs = try RunningProcwatch(["--connect", socket, "--json", "-e", "exec"])
            defer { execs.end() }
            for client in [failures, execs] {
                #expect(client.waitForSourceLine() == "procwatch: source: daemon \(socket) (bpf; all processes)")
            }
            try await PrometheusServer.with(scraping: "127.0.0.1:\(port)") { prometheus in
                try prometheus.waitForScrape(of: "procwatch_events_total")
                // Sampled from the hub every second.
                #expect(await eventually(timeout: .seconds(10)) { (try? Self.value(prometheus, "sum(procwatch_clients)")) == 2 },
                        "\((try? prometheus.query("procwatch_clients")) ?? [:])")

                // Every exec is counted once by kind and once by program: both series of one
                // evaluation (the same scrape), equal.
                _ = try Spawn.run(["/bin/true", "e2e-prometheus"])
                try Self.waitForNextScrape(prometheus)
                let both = try prometheus.query(#"label_replace(sum(procwatch_execs_total), "q", "programs", "", "")"#
                                                + #" or label_replace(sum(procwatch_events_total{kind="exec"}), "q", "kind", "", "")"#)
                let programs = both[["q": "programs"]].flatMap(Double.init)
                #expect(programs != nil && programs == both[["q": "kind"]].flatMap(Double.init), "\(both)")
                #expect((programs ?? 0) >= 1)

                // Three failed execs of a path nobody else runs: the counter grows by exactly 3
                // between a scrape before and one after. Another failed exec on the host in
                // that window (a shell's PATH search) shows in the failures client's stream;
                // then the window is tried again.
                let path = "/nonexistent-procwatch-test-\(getpid())"
                let foreign = { ContractLine.parse(failures.stdout).filter { $0.event == "exec_failed" && $0.path != path }.count }
                let mine = { ContractLine.parse(failures.stdout).filter { $0.event == "exec_failed" && $0.path == path }.count }
                var delta: Double?
                for attempt in 1...5 {
                    let foreignBefore = foreign()
                    try Self.waitForNextScrape(prometheus)
                    let before = try Self.value(prometheus, "sum(procwatch_exec_failed_total)") ?? 0
                    for _ in 0..<3 { #expect(throws: Spawn.Failure.self) { try Spawn.start([path]) } }
                    #expect(await eventually(timeout: .seconds(5)) { mine() == 3 * attempt })
                    try Self.waitForNextScrape(prometheus)
                    let after = try Self.value(prometheus, "sum(procwatch_exec_failed_total)") ?? 0
                    // A foreign failure counted in that scrape reached the client by the next.
                    try Self.waitForNextScrape(prometheus)
                    delta = after - before
                    if foreign() == foreignBefore { break }
                }
                #expect(delta == 3, "\(failures.stdout)")
            }
            for client in [failures, execs] {
                kill(client.pid, SIGTERM)
                #expect(client.wait(timeout: .seconds(10)) == 0)
            }
            kill(daemon.pid, SIGTERM)
            #expect(daemon.wait(timeout: .seconds(15)) == 0, "\(daemon.stderr)")
        }
    }

    @Test func killNineUnderLoadKeepsEveryCommit() throws {
        try DaemonLifecycleTests.withStateDirectory { directory in
            let arguments = ["--state-dir", directory, "--socket", directory + "/s.sock", "--source", "bpf"]
            let first = try DaemonLifecycleTests.startDaemon(arguments)
            defer { first.end() }
            let load = try Spawn.start(["/bin/sh", "-c", "while :; do /bin/true e2e-load; done"])
            defer {
                kill(load, SIGKILL)
                Spawn.wait(load)
            }
            let history = try DatabaseQueue(path: directory + "/history.db")
            // The first recording's rows up to an id: their count and the sum of their pids.
            let committed = { (through: Int64) in
                try history.read { db in
                    try Row.fetchOne(db, sql: "SELECT count(*) AS n, coalesce(sum(pid), 0) AS pids FROM events WHERE recording = 1 AND id <= ?",
                                     arguments: [through]).map { [$0["n"] as Int64, $0["pids"] as Int64] }
                }
            }
            let count = { (recording: Int) in
                (try? history.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM events WHERE recording = ?", arguments: [recording]) }) ?? 0
            }
            // Under load: a few hundred events committed, then what a reader sees is noted.
            #expect(eventually(timeout: .seconds(10)) { count(1) >= 300 })
            let newest = try #require(try history.read { try Int64.fetchOne($0, sql: "SELECT max(id) FROM events WHERE recording = 1") })
            let seen = try committed(newest)
            kill(first.pid, SIGKILL)
            #expect(first.wait() == SIGKILL)
            let afterKill = count(1)
            #expect(afterKill >= seen?.first.map(Int.init) ?? .max)

            // The next daemon, still under load, records the gap and goes on.
            let second = try DaemonLifecycleTests.startDaemon(arguments)
            defer { second.end() }
            #expect(second.stderr.contains("the previous run's history was cut short"))
            #expect(eventually(timeout: .seconds(10)) { count(2) >= 100 })
            kill(second.pid, SIGTERM)
            #expect(second.wait(timeout: .seconds(15)) == 0, "\(second.stderr)")

            // Every row a reader saw committed before the kill, the same; nothing of the first
            // recording added or lost since the kill.
            #expect(try committed(newest) == seen)
            #expect(count(1) == afterKill)
            try history.read { db in
                #expect(try String.fetchOne(db, sql: "PRAGMA integrity_check") == "ok")
                let recordings = try Row.fetchAll(db, sql: "SELECT id, ended, end_reason FROM meta ORDER BY id")
                #expect(recordings.map { $0["ended"] == nil } == [true, false])
                #expect(recordings.map { $0["end_reason"] as String? } == [nil, "signal"])
                let gap = try Row.fetchOne(db, sql: "SELECT event, reason, count FROM events WHERE recording = 2 ORDER BY id LIMIT 1")
                #expect(gap?["event"] as String? == "lost")
                #expect(gap?["reason"] as String? == "restart")
                #expect(gap?["count"] == nil)
            }
        }
    }
}
