import Foundation
import Glibc
@testable import ProcWatchDaemon
import Testing

@Suite("Client socket path", .serialized)
struct ClientSocketPathTests {
    /// A socket bound at `path` (listening or not), closed by the caller; its file stays.
    private static func boundSocket(at path: String, listening: Bool) -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if listening { listen(descriptor, 1) }
        return descriptor
    }

    @Test func staleSocketIsReused() async throws {
        let harness = HubHarness()
        mkdir(harness.directory + "/run", 0o755)
        close(Self.boundSocket(at: harness.socketPath, listening: true))  // a killed daemon's leftover
        #expect(access(harness.socketPath, F_OK) == 0)
        try await harness.serve {
            let client = try harness.connect(#"{"events":["exec"]}"#)
            harness.hub.publish([HubEvents.exec(40001, "make", uid: 0)])
            #expect(client.readLine().map(HubEvents.summary) == "exec 40001")
        }
    }

    @Test func pathTakenIsOneLine() async throws {
        let harness = HubHarness()
        defer { try? FileManager.default.removeItem(atPath: harness.directory) }
        mkdir(harness.directory + "/run", 0o755)
        let live = Self.boundSocket(at: harness.socketPath, listening: true)
        defer { close(live) }
        await #expect(throws: ClientSocketError.inUse(path: harness.socketPath)) { try await harness.hub.bind() }
        #expect(ClientSocketError.inUse(path: "/run/procwatch/procwatch.sock").description
            == "socket /run/procwatch/procwatch.sock: another process is listening there (is a daemon already running?)")
        // The live listener's file is left alone.
        #expect(access(harness.socketPath, F_OK) == 0)

        let other = HubHarness()
        defer { try? FileManager.default.removeItem(atPath: other.directory) }
        mkdir(other.directory + "/run", 0o755)
        #expect(FileManager.default.createFile(atPath: other.socketPath, contents: Data("x".utf8)))
        await #expect(throws: ClientSocketError.notASocket(path: other.socketPath)) { try await other.hub.bind() }
        #expect(ClientSocketError.notASocket(path: "/tmp/x").description
            == "socket /tmp/x: the path exists and is not a socket; remove it or choose another --socket")
        #expect(try String(contentsOfFile: other.socketPath, encoding: .utf8) == "x")
    }

    @Test func modeGroupAndDirectoryApplied() async throws {
        let group: UInt32 = getuid() == 0 ? 4242 : getgid()  // only root may give it another group
        let harness = HubHarness(configure: {
            $0.socketPath = $0.socketPath.replacingOccurrences(of: "/run/", with: "/run/deeper/")
            $0.socketMode = 0o660
            $0.group = group
        })
        let path = harness.socketPath
        try await harness.serve {
            var status = stat()
            #expect(lstat(path, &status) == 0)
            #expect(status.st_mode == S_IFSOCK | 0o660)
            #expect(status.st_gid == group)
            #expect(stat(harness.directory + "/run/deeper", &status) == 0)
            #expect(status.st_mode & 0o7777 == 0o755)
        }
        #expect(access(path, F_OK) != 0)  // removed at shutdown
    }
}
