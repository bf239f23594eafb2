import Foundation
import GRDB
import Glibc
import Testing

/// Three hosts (network namespaces with their own name and machine id, see
/// ``NamespacedHost``), a daemon in each writing to one real PostgreSQL through its veth:
/// the server holds, for each host, exactly what that host's own history holds.
@Suite(.enabled(if: NamespacedHost.isAvailable && TestPostgres.isAvailable, "needs root, ip and PostgreSQL"))
struct FleetHostsTests {
    @Test func threeHostsWriteExactlyTheirOwnHistoriesToOneServer() async throws {
        try await TestPostgres.with { server in
            let database = try server.createDatabase()
            try await NamespacedHost.with(count: 3) { hosts in
                try await DaemonLifecycleTests.withStateDirectory { state in
                    var daemons: [RunningProcwatch] = []
                    defer { for daemon in daemons { daemon.end() } }
                    for host in hosts {
                        let directory = state + "/" + host.name
                        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                        let daemon = try RunningProcwatch(
                            ["daemon", "--state-dir", directory, "--socket", directory + "/s.sock", "--source", "bpf",
                             "--sink", server.url(database: database, host: host.gatewayAddress)],
                            environment: ["PGPASSWORD=\(TestPostgres.password)"], wrapper: host.command([]))
                        daemons.append(daemon)
                    }
                    // (The kernel-side source: the connector refuses a listener in another network namespace.)
                    // Every daemon records and has registered its host with the server.
                    let registered = eventually(timeout: .seconds(60)) {
                        daemons.allSatisfy { $0.stderr.contains("recording into") }
                            && (try? server.psql("SELECT count(*) FROM procwatch.hosts", database: database)) == "3"
                    }
                    #expect(registered, "\(daemons.map(\.stderr))")
                    guard registered else { return }

                    // The workload every host sees: 12 failed commands, 8 that succeed.
                    let marker = "fleet-hosts-\(getpid())"
                    for index in 0..<20 {
                        let (_, status) = try Spawn.run(["/bin/sh", "-c", index < 12 ? "sleep 0.05; exit 3" : "sleep 0.05", marker])
                        #expect(status == (index < 12 ? 3 << 8 : 0))
                    }
                    // The daemons record the whole machine: let each sink catch up with the workload
                    // (its 12 marker exits in the server) before the stop, whose drain is bounded (5 s).
                    let caughtUp = eventually(timeout: .seconds(120)) {
                        (try? server.psql("""
                            SELECT count(*) FROM procwatch.events WHERE event = 'exit' AND exit_code = 768
                            AND cmdline = '["/bin/sh","-c","sleep 0.05; exit 3","\(marker)"]'::jsonb
                            """, database: database)) == "36"
                    }
                    #expect(caughtUp, "the sinks did not write the workload within 120 s")
                    for daemon in daemons { kill(daemon.pid, SIGTERM) }
                    for daemon in daemons { #expect(daemon.wait(timeout: .seconds(60)) == 0, "\(daemon.stderr)") }

                    for host in hosts {
                        let history = try DatabaseQueue(path: state + "/" + host.name + "/history.db")
                        let (localEvents, localProcesses, localMarkers) = try history.read { db in
                            (try Int.fetchOne(db, sql: "SELECT count(*) FROM events")!,
                             try Int.fetchOne(db, sql: "SELECT count(*) FROM processes")!,
                             try Int.fetchOne(db, sql: """
                                SELECT count(*) FROM events WHERE event = 'exit' AND exit_code = 768
                                AND cmdline = '["/bin/sh","-c","sleep 0.05; exit 3","\(marker)"]'
                                """)!)
                        }
                        let hostID = try server.psql("SELECT id FROM procwatch.hosts WHERE name = '\(host.name)' AND machine_id = '\(host.machineID)'",
                                                     database: database)
                        #expect(!hostID.isEmpty, "no hosts row for \(host.name)")
                        let remote = try server.psql("""
                            SELECT (SELECT count(*) FROM procwatch.events WHERE host = \(hostID)) || ' ' ||
                                   (SELECT count(*) FROM procwatch.processes WHERE host = \(hostID)) || ' ' ||
                                   (SELECT count(*) FROM procwatch.events WHERE host = \(hostID) AND event = 'exit' AND exit_code = 768
                                    AND cmdline = '["/bin/sh","-c","sleep 0.05; exit 3","\(marker)"]'::jsonb)
                            """, database: database)
                        #expect(localMarkers == 12)
                        #expect(remote == "\(localEvents) \(localProcesses) 12", "\(host.name): local \(localEvents) events, \(localProcesses) processes")
                    }
                }
            }
        }
    }
}
