import Foundation
import Testing

/// The simulated hosts themselves: each has its own name and machine id and reaches the
/// fleet's server through its veth.
@Suite(.enabled(if: NamespacedHost.isAvailable && TestPostgres.isAvailable, "needs root, ip and PostgreSQL"))
struct NamespacedHostTests {
    @Test func eachHostHasItsOwnNameAndMachineIDAndReachesTheServer() async throws {
        try await TestPostgres.with { server in
            let database = try server.createDatabase()
            try await NamespacedHost.with(count: 2) { hosts in
                for host in hosts {
                    let psql = try #require(TestPostgres.binaries) + "/psql"
                    let output = try Spawn.capture(host.command([
                        "env", "PGPASSWORD=\(TestPostgres.password)", "/bin/sh", "-c",
                        "hostname; cat /etc/machine-id; \(psql) -X -A -t -c 'SELECT inet_client_addr()' '\(server.url(database: database, host: host.gatewayAddress))'",
                    ]))
                    #expect(output.stdout == "\(host.name)\n\(host.machineID)\n\(host.address)\n", "\(output.stderr)")
                }
            }
            #expect(!((try? String(contentsOfFile: "/etc/machine-id", encoding: .utf8)) ?? "").isEmpty)
        }
    }
}
