import Foundation
import Glibc
import ProcWatch
@testable import ProcWatchDaemon
import Testing

@Suite("Client hub", .serialized)
struct ClientHubTests {
    @Test func helloAndSelectionAnswer() async throws {
        let harness = HubHarness(credentials: [PeerCredentials(pid: 7, uid: 1000, gid: 1000)])
        try await harness.serve {
            let client = try #require(UnixSocketClient(path: harness.socketPath))
            #expect(client.readLine() == #"{"procwatch":"daemon","protocol":1,"version":"0.1.0","source":"connector","visibility":"own","uid":1000}"#)
            client.send(#"{"protocol":1,"events":["exec","exit"],"pids":[40001],"trees":[40002],"comm":"^make$","users":[1000]}"# + "\n")
            #expect(client.readLine() == #"{"ok":true}"#)
            #expect(await eventually { harness.hub.clientCount == 1 })
            let root = try #require(UnixSocketClient(path: harness.socketPath))
            #expect(root.readLine() == #"{"procwatch":"daemon","protocol":1,"version":"0.1.0","source":"connector","visibility":"all","uid":0}"#)
        }
    }

    /// The kernel's credentials, not injected ones: this process's uid, and its pid.
    @Test func peerCredentialsFromKernel() async throws {
        let harness = HubHarness()
        let hub = ClientHub(settings: ClientHubSettings(socketPath: harness.directory + "/real.sock"), logger: .init(label: "t"))
        try await hub.bind()
        let service = Task { try await hub.run() }
        let client = try #require(UnixSocketClient(path: hub.settings.socketPath))
        let visibility = getuid() == 0 ? "all" : "own"
        #expect(client.readLine() == "{\"procwatch\":\"daemon\",\"protocol\":1,\"version\":\"0.1.0\",\"source\":\"connector\",\"visibility\":\"\(visibility)\",\"uid\":\(getuid())}")
        client.send("{}\n")
        #expect(client.readLine() == #"{"ok":true}"#)
        #expect(await hub.snapshot().clients.map { [Int($0.pid), Int($0.uid)] } == [[Int(getpid()), Int(getuid())]])
        service.cancel()
        try await service.value
        #expect(access(hub.settings.socketPath, F_OK) != 0)
        try? FileManager.default.removeItem(atPath: harness.directory)
    }

    static let known = "fork, clone, exec, exit, core, coredump, comm, ptrace, uid, gid, sid, execfail, exec_failed, nonzeroexit, failed_exit, all"

    static let refusals: [(line: String, error: String)] = [
        ("not json", "selection is not JSON"),
        ("", "selection is not JSON"),
        ("[1,2]", "selection must be a JSON object"),
        (#"{"events":["exec"],"color":"red"}"#, "unknown key 'color' in selection; known: protocol, events, pids, trees, comm, users"),
        (#"{"events":["exec","bogus"]}"#, "unknown event 'bogus'; known: \(known)"),
        (#"{"events":["exec,exit"]}"#, "unknown event 'exec,exit'; known: \(known)"),
        (#"{"events":"exec"}"#, "'events' must be an array of event names"),
        (#"{"pids":[true]}"#, "'pids' must be an array of process ids"),
        (#"{"pids":[-4]}"#, "'pids' must be an array of process ids"),
        (#"{"trees":[1.5]}"#, "'trees' must be an array of process ids"),
        (#"{"users":[-1]}"#, "'users' must be an array of uids"),
        (#"{"comm":7}"#, "'comm' must be a string (a regular expression)"),
        (#"{"comm":"(make"}"#, "'comm' (make is not a valid regular expression: expected ')'"),
        (#"{"protocol":2}"#, "protocol 2 is not supported; this daemon speaks protocol 1"),
        (#"{"protocol":"1"}"#, "'protocol' must be an integer"),
    ]

    @Test func badRequestsGetOneErrorLine() async throws {
        let harness = HubHarness()
        try await harness.serve {
            let bystander = try harness.connect(#"{"events":["exec"]}"#)
            for (line, error) in Self.refusals {
                let client = try #require(UnixSocketClient(path: harness.socketPath))
                _ = client.readLine()
                client.send(line + "\n")
                #expect(client.readLine() == #"{"error":"# + Self.quoted(error) + "}", "\(line)")
                #expect(client.isClosedByPeer(), "\(line)")
            }
            #expect(harness.hub.refusedCount == Self.refusals.count)
            let logged = harness.logLines.all.filter { $0.contains("refused") }
            #expect(logged.count == Self.refusals.count)
            #expect(logged.first == "notice: client 2 (pid \(getpid()) uid 0) refused: selection is not JSON")
            // The client that asked properly was never disturbed.
            harness.hub.publish([HubEvents.exec(40001, "make", uid: 0)])
            #expect(bystander.readLine().map(HubEvents.summary) == "exec 40001")
        }
    }

    @Test func oversizedPartialAndSlowSelections() async throws {
        let harness = HubHarness(configure: { $0.selectionTimeout = .milliseconds(300) })
        try await harness.serve {
            // Exactly the limit: accepted.
            let padded = "{" + String(repeating: " ", count: 65_536 - 2) + "}"
            let fits = try #require(UnixSocketClient(path: harness.socketPath))
            _ = fits.readLine()
            fits.send(padded + "\n")
            #expect(fits.readLine() == #"{"ok":true}"#)
            // One byte more, no newline yet: refused as soon as it is past the limit.
            let long = try #require(UnixSocketClient(path: harness.socketPath))
            _ = long.readLine()
            long.send(String(repeating: " ", count: 65_537))
            #expect(long.readLine() == #"{"error":"selection longer than 65536 bytes"}"#)
            #expect(long.isClosedByPeer())
            // Half a line, then the client closes its side.
            let half = try #require(UnixSocketClient(path: harness.socketPath))
            _ = half.readLine()
            half.send(#"{"events":["ex"#)
            half.shutdownSending()
            #expect(half.readLine() == #"{"error":"selection ended without a newline"}"#)
            #expect(half.isClosedByPeer())
            // Nothing at all within the timeout.
            let silent = try #require(UnixSocketClient(path: harness.socketPath))
            _ = silent.readLine()
            #expect(silent.readLine(timeout: .seconds(3)) == #"{"error":"no selection within 0.3 seconds"}"#)
            #expect(silent.isClosedByPeer())
            #expect(harness.hub.refusedCount == 3)
        }
    }

    @Test func thousandConnectsAndDisconnects() async throws {
        let harness = HubHarness()
        try await harness.serve {
            for index in 0..<1000 {
                let client = try #require(UnixSocketClient(path: harness.socketPath))
                switch index % 4 {
                case 0: break  // closes before reading anything
                case 1: _ = client.readLine()
                case 2: client.send(#"{"events":"#)  // half a line
                default:  // accepted, then gone
                    _ = client.readLine()
                    client.send("{}\n")
                    _ = client.readLine()
                }
                client.close()
            }
            #expect(await eventually(timeout: .seconds(20)) { harness.hub.refusedCount == 750 && harness.hub.clientCount == 0 },
                    "refused \(harness.hub.refusedCount), clients \(harness.hub.clientCount)")
            let normal = try harness.connect(#"{"events":["exec","exit"]}"#)
            harness.hub.publish([HubEvents.fork(40001, 40002, "sh", uid: 0), HubEvents.exec(40002, "make", uid: 0),
                                 HubEvents.exit(40002, "make", uid: 0)])
            #expect(normal.readLines(2).map(HubEvents.summary) == ["exec 40002", "exit 40002"])
            #expect(normal.readLine(timeout: .milliseconds(200)) == nil)
        }
    }

    @Test func eventLinesAreTheContract() async throws {
        let harness = HubHarness()
        try await harness.serve {
            let client = try harness.connect()
            harness.hub.publish([HubEvents.exec(40001, "make", uid: 1000)])
            #expect(client.readLine() == #"{"event":"exec","time":"2026-11-18T11:06:40.000000Z","ktime_ns":1000000000,"cpu":0,"seq":0,"pid":40001,"tid":40001,"ppid":1,"comm":"make","cmdline":["/usr/bin/make"],"uid":1000}"#)
        }
    }

    @Test func eachClientGetsItsSelection() async throws {
        let harness = HubHarness()
        try await harness.serve {
            let selections = [
                "{}",
                #"{"events":["exec"]}"#,
                #"{"events":["fork","exit"]}"#,
                #"{"pids":[40001]}"#,
                #"{"trees":[40010]}"#,
                #"{"comm":"^make$"}"#,
                #"{"users":[1000,1002]}"#,
                #"{"events":["exec"],"users":[1000]}"#,
            ]
            let clients = try selections.map { try harness.connect($0) }
            let batch = [
                HubEvents.fork(40001, 40002, "sh", uid: 1000),      // forked by 40001
                HubEvents.exec(40001, "make", uid: 1000),
                HubEvents.fork(40010, 40011, "sh", uid: 1001),      // joins 40010's tree
                HubEvents.exec(40011, "cc", uid: 1001),
                HubEvents.exec(40020, "make", uid: 1002),
                HubEvents.exec(HubHarness.ownPID, "procwatch-store", uid: 0),  // the daemon: nobody
                HubEvents.lost(2),                                   // everyone
                HubEvents.exit(40011, "cc", uid: 1001),              // leaves the tree
                HubEvents.exec(40011, "reused", uid: 1001),          // a new process with its pid
            ]
            harness.hub.publish(batch)
            let expected: [[String]] = [
                ["fork 40002", "exec 40001", "fork 40011", "exec 40011", "exec 40020", "lost 2 seq_gap", "exit 40011", "exec 40011"],
                ["exec 40001", "exec 40011", "exec 40020", "lost 2 seq_gap", "exec 40011"],
                ["fork 40002", "fork 40011", "lost 2 seq_gap", "exit 40011"],
                ["fork 40002", "exec 40001", "lost 2 seq_gap"],
                ["fork 40011", "exec 40011", "lost 2 seq_gap", "exit 40011"],
                ["exec 40001", "exec 40020", "lost 2 seq_gap"],
                ["fork 40002", "exec 40001", "exec 40020", "lost 2 seq_gap"],
                ["exec 40001", "lost 2 seq_gap"],
            ]
            for (index, client) in clients.enumerated() {
                #expect(client.readLines(expected[index].count).map(HubEvents.summary) == expected[index], "\(selections[index])")
                #expect(client.readLine(timeout: .milliseconds(100)) == nil, "\(selections[index])")
            }
        }
    }

    @Test func visibilityByCredentials() async throws {
        let harness = HubHarness(configure: { $0.group = 4242 }, credentials: [
            PeerCredentials(pid: 11, uid: 0, gid: 0),
            PeerCredentials(pid: 12, uid: 1000, gid: 1000, groups: [27, 4242]),
            PeerCredentials(pid: 13, uid: 1001, gid: 1001, groups: [27]),
        ])
        try await harness.serve {
            let root = try harness.connect()
            let member = try harness.connect()
            let other = try harness.connect()
            harness.hub.publish([
                HubEvents.exec(40001, "make", uid: 0),
                HubEvents.exec(40002, "vim", uid: 1001),
                HubEvents.exec(40003, "top", uid: 1000),
                HubEvents.setuid(40004, "su", from: 1001, to: 0),   // leaves 1001
                HubEvents.setuid(40005, "sshd", from: 0, to: 1001), // joins 1001
                HubEvents.exec(40005, "bash", uid: 1001),
                HubEvents.exec(40006, "ghost", uid: nil),
                HubEvents.lost(1),
            ])
            let all = ["exec 40001", "exec 40002", "exec 40003", "uid 40004", "uid 40005", "exec 40005", "exec 40006", "lost 1 seq_gap"]
            #expect(root.readLines(8).map(HubEvents.summary) == all)
            #expect(member.readLines(8).map(HubEvents.summary) == all)
            #expect(other.readLines(4).map(HubEvents.summary) == ["exec 40002", "uid 40005", "exec 40005", "lost 1 seq_gap"])
            #expect(other.readLine(timeout: .milliseconds(100)) == nil)
            #expect(await harness.hub.snapshot().clients.map(\.visibility) == [.all, .all, .own(uid: 1001)])
        }
    }

    /// A client that stops reading loses events for itself only, and learns exactly how many.
    @Test func slowClientGetsExactBacklogLoss() async throws {
        let harness = HubHarness(configure: { $0.queueLimit = 500 })
        try await harness.serve {
            let slow = try harness.connect("{}", receiveBuffer: 4096)
            let fast = try harness.connect()
            let batches = 100, size = 100
            for batch in 0..<batches {
                harness.hub.publish((0..<size).map { HubEvents.exec(Int32(40_000 + batch * size + $0), "x", uid: 0) })
                let lines = fast.readLines(size)
                #expect(lines.count == size)
                #expect(lines.last.map(HubEvents.summary) == "exec \(40_000 + batch * size + size - 1)")
            }
            let status = await harness.hub.snapshot().clients
            #expect(status.map(\.dropped)[1] == 0)
            let dropped = status[0].dropped
            #expect(dropped > 0)
            #expect(status[0].pending == 500)
            // Now it reads: what was queued, then the loss report, then nothing.
            var received: [String] = []
            while let line = slow.readLine(timeout: .seconds(2)) { received.append(HubEvents.summary(line)) }
            let events = received.filter { $0.hasPrefix("exec") }
            #expect(received.last == "lost \(batches * size - events.count) backlog")
            #expect(received.count == events.count + 1)
            #expect(dropped == batches * size - events.count)
            #expect(events == (0..<events.count).map { "exec \(40_000 + $0)" })
            // Back in step: the next batch arrives whole.
            harness.hub.publish([HubEvents.exec(40001, "make", uid: 0)])
            #expect(slow.readLine().map(HubEvents.summary) == "exec 40001")
            #expect(fast.readLine().map(HubEvents.summary) == "exec 40001")
        }
    }

    private static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
