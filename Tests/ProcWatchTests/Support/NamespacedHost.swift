import Foundation
import Glibc

/// A simulated host on this machine for the fleet tests: a network namespace joined to
/// the machine by a veth pair (the machine's end `10.250.N.1/30`, the host's `10.250.N.2/30`,
/// a private test range), with its own host name (a UTS namespace) and its own
/// `/etc/machine-id` (bind-mounted in the mount namespace `ip netns exec` makes), so a
/// daemon run in it registers as a host of its own and reaches the fleet's PostgreSQL
/// through its veth, as it would over a network.
///
/// Processes are not namespaced (no pid namespace): every host's daemon sees the whole
/// machine's events, as every real host sees its own.
///
/// The namespace (and with it the veth pair) is deleted on every way out of ``with(count:_:)``.
final class NamespacedHost: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Whether a test can make one (root, `ip` installed).
    static var isAvailable: Bool {
        geteuid() == 0 && ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].contains { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The host's name (its UTS host name, and the namespace's name).
    let name: String
    /// Its `/etc/machine-id` (32 hex digits).
    let machineID: String
    /// The machine's address as the host reaches it (where the fleet's server listens).
    let gatewayAddress: String
    /// The host's own address.
    let address: String
    /// The directory holding its machine-id file (removed with it).
    let directory: String

    private init(index: Int, tag: String) {
        name = "pwhost\(index)-\(tag)"
        machineID = (0..<32).map { _ in String(UInt8.random(in: 0...15), radix: 16) }.joined()
        gatewayAddress = "10.250.\(index).1"
        address = "10.250.\(index).2"
        directory = "/tmp/procwatch-host-\(getpid())-\(tag)-\(index)"
    }

    /// Runs `body` with `count` hosts (at most 50), then deletes them whatever `body` did.
    static func with<T>(count: Int, _ body: ([NamespacedHost]) async throws -> T) async throws -> T {
        let tag = String(UInt32.random(in: 0...0xFFFF), radix: 16)
        var hosts: [NamespacedHost] = []
        defer { for host in hosts { host.remove() } }
        for index in 1...count {
            let host = NamespacedHost(index: index, tag: tag)
            hosts.append(host)
            try host.create(index: index, tag: tag)
        }
        return try await body(hosts)
    }

    /// The command line that runs `argv` inside the host: its network, host name and machine id.
    func command(_ argv: [String]) -> [String] {
        ["ip", "netns", "exec", name, "unshare", "--uts", "--", "/bin/sh", "-c",
         "hostname \"$0\" && mount --bind \"$1\" /etc/machine-id && shift && exec \"$@\"",
         name, directory + "/machine-id"] + argv
    }

    private func create(index: Int, tag: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try (machineID + "\n").write(toFile: directory + "/machine-id", atomically: true, encoding: .utf8)
        // Interface names are at most 15 bytes: `pw<tag><index>a` on the machine, `…b` in the host.
        let outside = "pw\(tag)\(index)a", inside = "pw\(tag)\(index)b"
        for argv in [
            ["ip", "netns", "add", name],
            ["ip", "link", "add", outside, "type", "veth", "peer", "name", inside],
            ["ip", "link", "set", inside, "netns", name],
            ["ip", "addr", "add", gatewayAddress + "/30", "dev", outside],
            ["ip", "link", "set", outside, "up"],
            ["ip", "netns", "exec", name, "ip", "addr", "add", address + "/30", "dev", inside],
            ["ip", "netns", "exec", name, "ip", "link", "set", inside, "up"],
            ["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"],
        ] {
            let (_, status) = try Spawn.run(argv)
            guard status == 0 else { throw Failure(description: "\(argv.joined(separator: " ")) failed (status \(status))") }
        }
    }

    private func remove() {
        // Deleting the namespace deletes the veth pair (both ends).
        _ = try? Spawn.run(["ip", "netns", "del", name])
        try? FileManager.default.removeItem(atPath: directory)
    }
}
