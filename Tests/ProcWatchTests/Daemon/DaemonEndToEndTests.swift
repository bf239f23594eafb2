import Foundation
import Glibc
import GRDB
import ProcWatchDaemon
import Testing

/// `procwatch daemon` and `procwatch --connect` as built, run as an operator and users would:
/// who sees what, SIGHUP, a socket path taken or stale, a full disk. The source is the
/// kernel-side one where it loads — on a shared host's fork storm the connector drops
/// events and races /proc for command lines, the exact streams expected here would not be —,
/// else the proc connector. Every daemon ends with SIGTERM, after which a connector's
/// listener count is checked released.
@Suite("Daemon end to end", .serialized, .enabled(if: getuid() == 0, "the daemon, setpriv and mount need root"))
struct DaemonEndToEndTests {
    /// `--source` of the daemons here.
    static let source = kernelWatchersAvailable ? "bpf" : "connector"

    /// The unprivileged user of the tests (nobody).
    static let nobody: UInt32 = 65534

    /// `setpriv` as uid/gid 65534, with `groups` as its supplementary groups (none: cleared).
    static func asNobody(groups: [gid_t] = []) -> [String] {
        ["/usr/bin/setpriv", "--reuid=\(nobody)", "--regid=\(nobody)"]
            + (groups.isEmpty ? ["--clear-groups"] : ["--groups=" + groups.map(String.init).joined(separator: ",")])
    }

    /// `procwatch --connect SOCKET ARGUMENTS` (run by `wrapper`), once it said where its
    /// events come from; the line it said is checked by the caller.
    static func connect(_ socket: String, _ arguments: [String], wrapper: [String] = []) throws -> (client: RunningProcwatch, sourceLine: String?) {
        let client = try RunningProcwatch(["--connect", socket] + arguments, wrapper: wrapper)
        return (client, client.waitForSourceLine(timeout: .seconds(10)))
    }

    /// Ends a daemon with SIGTERM and expects the clean end (exit 0) and, for the
    /// connector, the kernel's listener count released.
    static func stopDaemon(_ daemon: RunningProcwatch) throws {
        kill(daemon.pid, SIGTERM)
        #expect(daemon.wait(timeout: .seconds(15)) == 0, "\(daemon.stderr)")
        if source == "connector" { #expect(try ListenerProbe.eventuallyReleased()) }
    }

    @Test func eachClientSeesWhatItMayLive() throws {
        try DaemonLifecycleTests.withStateDirectory { directory in
            // nobody must reach the socket inside the (mkdtemp: 0700) directory.
            try #require(chmod(directory, 0o755) == 0)
            let group = try #require(getgrnam("adm")).pointee.gr_gid
            let configuration = directory + "/daemon.yaml"
            // 0666: anyone may connect; what each sees is the daemon's choice.
            try "socket_mode: \"0666\"\n".write(toFile: configuration, atomically: false, encoding: .utf8)
            let socket = directory + "/s.sock"
            let daemon = try DaemonLifecycleTests.startDaemon(["--config", configuration, "--state-dir", directory, "--socket", socket,
                                                               "--socket-group", "adm", "--source", Self.source])
            defer { daemon.end() }
            let selection = ["--json", "-e", "exec,exit"]
            let (root, rootLine) = try Self.connect(socket, selection)
            defer { root.end() }
            let (member, memberLine) = try Self.connect(socket, selection, wrapper: Self.asNobody(groups: [group]))
            defer { member.end() }
            let (stranger, strangerLine) = try Self.connect(socket, selection, wrapper: Self.asNobody())
            defer { stranger.end() }
            #expect(rootLine == "procwatch: source: daemon \(socket) (\(Self.source); all processes)")
            #expect(memberLine == "procwatch: source: daemon \(socket) (\(Self.source); all processes)")
            #expect(strangerLine == "procwatch: source: daemon \(socket) (\(Self.source); your processes only)")

            // Root's process first, seen through to its exit, then nobody's: the daemon sends
            // in order, so a client that has nobody's exit has had every chance at root's.
            // The sleep lets the connector read each command line from /proc.
            let rootArguments = ["/bin/sh", "-c", "sleep 0.2; exit 3", "e2e-root-\(getpid())"]
            let rootChild = try Spawn.run(rootArguments)
            #expect(rootChild.status == 3 << 8)
            let exits = { (client: RunningProcwatch, pid: Int32) in
                ContractLine.parse(client.stdout).contains { $0.event == "exit" && $0.pid == pid }
            }
            #expect(eventually(timeout: .seconds(5)) { exits(root, rootChild.pid) })
            let nobodyArguments = ["/bin/sh", "-c", "sleep 0.2; exit 5", "e2e-nobody-\(getpid())"]
            let nobodyChild = try Spawn.run(Self.asNobody() + nobodyArguments)
            #expect(nobodyChild.status == 5 << 8)
            for client in [root, member, stranger] {
                #expect(eventually(timeout: .seconds(5)) { exits(client, nobodyChild.pid) })
            }
            for client in [root, member, stranger] {
                kill(client.pid, SIGTERM)
                #expect(client.wait(timeout: .seconds(10)) == 0, "\(client.stderr)")
            }
            #expect(root.stderr == (rootLine ?? "") + "\n")
            #expect(member.stderr == (memberLine ?? "") + "\n")
            #expect(stranger.stderr == (strangerLine ?? "") + "\n")

            // Root and the group's member: root's exec and exit; setpriv's exec (as root),
            // the shell's (as nobody) and its exit.
            for client in [root, member] {
                let lines = ContractLine.parse(client.stdout)
                let ofRoot = lines.filter { $0.pid == rootChild.pid }
                #expect(ofRoot.map(\.event) == ["exec", "exit"])
                #expect(ofRoot.map(\.uid) == [0, 0])
                #expect(ofRoot.first?.cmdline == rootArguments)
                #expect(ofRoot.last?.exitCode == 3 << 8)
                let ofNobody = lines.filter { $0.pid == nobodyChild.pid }
                #expect(ofNobody.map(\.event) == ["exec", "exec", "exit"])
                #expect(ofNobody.map(\.uid) == [0, Int(Self.nobody), Int(Self.nobody)])
                #expect(ofNobody.dropFirst().first?.cmdline == nobodyArguments)
                #expect(ofNobody.last?.exitCode == 5 << 8)
            }
            // The stranger: nobody's shell from its exec on, nothing of root's, and no event
            // of another user at all.
            let lines = ContractLine.parse(stranger.stdout)
            #expect(lines.filter { $0.pid == rootChild.pid }.isEmpty)
            let ofNobody = lines.filter { $0.pid == nobodyChild.pid }
            #expect(ofNobody.map(\.event) == ["exec", "exit"])
            #expect(ofNobody.first?.cmdline == nobodyArguments)
            #expect(ofNobody.last?.exitCode == 5 << 8)
            #expect(lines.filter { $0.event != "lost" && $0.uid != Int(Self.nobody) }.map(\.event) == [])
            try Self.stopDaemon(daemon)
        }
    }

    /// Connects a raw client and expects the daemon's hello and `{"ok":true}` to a selection:
    /// the daemon serves on `socket`.
    static func expectServes(_ socket: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let client = try #require(UnixSocketClient(path: socket), "connect \(socket): errno \(errno)", sourceLocation: sourceLocation)
        let hello = client.readLine(timeout: .seconds(5))
        #expect(hello?.hasPrefix(#"{"procwatch":"daemon","protocol":1,"#) == true, "\(hello ?? "nothing")", sourceLocation: sourceLocation)
        client.send(#"{"protocol":1,"events":["exec"]}"# + "\n")
        #expect(client.readLine(timeout: .seconds(5)) == #"{"ok":true}"#, sourceLocation: sourceLocation)
    }

    @Test func sighupReloadsWhatItCanAndRefusesABadFile() throws {
        try DaemonLifecycleTests.withStateDirectory { directory in
            let configuration = directory + "/daemon.yaml"
            let socket = directory + "/s.sock"
            try "socket: \(socket)\nkeep: 14d\n".write(toFile: configuration, atomically: false, encoding: .utf8)
            let daemon = try DaemonLifecycleTests.startDaemon(["--config", configuration, "--state-dir", directory, "--source", Self.source])
            defer { daemon.end() }

            try "socket: \(directory)/elsewhere.sock\nkeep: 7d\n".write(toFile: configuration, atomically: false, encoding: .utf8)
            kill(daemon.pid, SIGHUP)
            let reloaded = "reloaded \(configuration): keep applied; socket changed, takes effect at the next restart"
            #expect(eventually(timeout: .seconds(5)) { !DaemonLog.messages(daemon.stderr, startingWith: "reloaded").isEmpty })
            #expect(DaemonLog.entries(daemon.stderr).filter { $0.message.hasPrefix("reloaded") }.map { "\($0.level) \($0.message)" }
                    == ["notice \(reloaded)"])
            // Still serving, on the socket it opened: the new path waits for a restart.
            #expect(Spawn.wait(daemon.pid, timeout: .zero) == nil)
            try Self.expectServes(socket)
            #expect(access(directory + "/elsewhere.sock", F_OK) != 0)

            try "socket: \(socket)\nkeep: 14x\n".write(toFile: configuration, atomically: false, encoding: .utf8)
            kill(daemon.pid, SIGHUP)
            #expect(eventually(timeout: .seconds(5)) { !DaemonLog.messages(daemon.stderr, startingWith: "reload refused").isEmpty })
            #expect(DaemonLog.entries(daemon.stderr).filter { $0.message.hasPrefix("reload") }.map { "\($0.level) \($0.message)" } == [
                "notice \(reloaded)",
                "error reload refused, the running settings stay: daemon: \(configuration): keep: \"14x\" is not a duration (examples: 14d, 36h, 90m)",
            ])
            #expect(Spawn.wait(daemon.pid, timeout: .zero) == nil)
            try Self.expectServes(socket)
            try Self.stopDaemon(daemon)
        }
    }

    /// A Unix socket bound at `path`, listening when `listening`, else closed at once — the
    /// file left behind as by a killed daemon.
    static func bindSocket(at path: String, listening: Bool) throws -> Int32? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path.utf8) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, !listening || listen(fd, 4) == 0 else {
            close(fd)
            throw Spawn.Failure(description: "bind/listen \(path): errno \(errno)")
        }
        if listening { return fd }
        close(fd)
        return nil
    }

    @Test func aTakenSocketIsOneLineAndExit64AStaleOneIsReused() throws {
        try DaemonLifecycleTests.withStateDirectory { directory in
            let taken = directory + "/taken.sock"
            let listener = try #require(try Self.bindSocket(at: taken, listening: true))
            defer { close(listener) }
            let refused = try RunningProcwatch(["daemon", "--state-dir", directory, "--socket", taken, "--source", Self.source])
            defer { refused.end() }
            #expect(refused.wait(timeout: .seconds(20)) == 64 << 8)
            #expect(refused.stderr == "procwatch: daemon: socket \(taken): another process is listening there (is a daemon already running?)\n")
            // The other process's socket is untouched: it still accepts.
            #expect(UnixSocketClient(path: taken) != nil)

            let stale = directory + "/stale.sock"
            _ = try Self.bindSocket(at: stale, listening: false)
            try #require(access(stale, F_OK) == 0)
            let daemon = try DaemonLifecycleTests.startDaemon(["--state-dir", directory, "--socket", stale, "--source", Self.source])
            defer { daemon.end() }
            try Self.expectServes(stale)
            try Self.stopDaemon(daemon)
            #expect(access(stale, F_OK) != 0)  // removed at the clean end
        }
    }

    /// Runs `body` with a tmpfs of `size` (`mount -o size=`) mounted at `path` (made),
    /// unmounted on every way out, after whatever `body` started and ended there.
    static func withTmpfs(at path: String, size: String, _ body: () throws -> Void) throws {
        try #require(mkdir(path, 0o755) == 0)
        try #require(try Spawn.run(["/bin/mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", path]).status == 0)
        defer {
            if (try? Spawn.run(["/bin/umount", path]).status) != 0 { _ = try? Spawn.run(["/bin/umount", "-l", path]) }
        }
        try body()
    }

    /// Runs batches of processes with long command lines until `daemon` logs that its
    /// history stopped: they fill a MiB within a few hundred. False after 60 s.
    static func fillHistory(of daemon: RunningProcwatch) -> Bool {
        let argument = String(repeating: "x", count: 8000)
        return eventually(timeout: .seconds(60)) {
            _ = try? Spawn.run(["/bin/sh", "-c", "i=0; while [ $i -lt 200 ]; do /bin/true \"$1\" \"$1\"; i=$((i+1)); done", "sh", argument])
            return !DaemonLog.messages(daemon.stderr, startingWith: "the history stopped:").isEmpty
        }
    }

    @Test(.disabled("""
        Passes alone (6 s, every run here) but not inside the whole suite on CI: the connected client \
        got no exec for 60 s after the history stopped (2026-12-06, two clean-clone runs). Under \
        investigation: a daemon whose history stopped must keep serving its clients under load.
        """))
    func aFullDiskStopsTheHistoryNotTheDaemon() throws {
        try DaemonLifecycleTests.withStateDirectory { directory in
            let state = directory + "/state"
            try Self.withTmpfs(at: state, size: "1m") {
                let socket = directory + "/s.sock"  // off the full file system: the clients must still reach it
                let daemon = try DaemonLifecycleTests.startDaemon(["--state-dir", state, "--socket", socket, "--source", Self.source])
                defer { daemon.end() }
                let stopped = { DaemonLog.messages(daemon.stderr, startingWith: "the history stopped:") }
                try #require(Self.fillHistory(of: daemon), "the history never stopped: \(daemon.stderr)")
                #expect(stopped() == ["the history stopped: the disk is full: recording to \(state)/history.db stopped; everything committed before is kept;"
                                      + " live clients are still served, and a new recording is tried every 10 s"])
                #expect(Spawn.wait(daemon.pid, timeout: .zero) == nil)

                // Served after the history stopped: a client through the real CLI gets a new exec.
                let (client, line) = try Self.connect(socket, ["--json", "-e", "exec"])
                defer { client.end() }
                #expect(line == "procwatch: source: daemon \(socket) (\(Self.source); all processes)")
                // The daemon may still be working through the fill's backlog (thousands of 16 KB
                // command lines, in a debug build, on a busy machine): a first exec tells when it
                // has caught up; from then on a new exec reaches the client at once.
                func received(_ arguments: [String], _ pid: Int32) -> Bool {
                    client.stdout.contains(arguments[3])
                        && ContractLine.parse(client.stdout).contains { $0.event == "exec" && $0.pid == pid && $0.cmdline == arguments }
                }
                let sentinel = ["/bin/sh", "-c", "sleep 0.2", "e2e-full-sentinel-\(getpid())"]
                let first = try Spawn.run(sentinel)
                #expect(eventually(timeout: .seconds(60)) { received(sentinel, first.pid) })
                let arguments = ["/bin/sh", "-c", "sleep 0.2", "e2e-full-\(getpid())"]
                let child = try Spawn.run(arguments)
                #expect(eventually(timeout: .seconds(5)) { received(arguments, child.pid) })
                kill(client.pid, SIGTERM)
                #expect(client.wait(timeout: .seconds(10)) == 0)
                try Self.stopDaemon(daemon)
                // A retry on the still full disk (every 10 s) fails quietly: one line in all.
                #expect(stopped().count == 1)
                #expect(DaemonLog.messages(daemon.stderr, startingWith: "the history records again").isEmpty)
                // What was committed before the disk filled is intact.
                var readOnly = Configuration()
                readOnly.readonly = true
                let history = try DatabaseQueue(path: state + "/history.db", configuration: readOnly)
                #expect(try history.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") } == "ok")
                // (Whether any event made it before the disk filled depends on the host's rate.)
                #expect(try history.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM meta WHERE id = 1") } == 1)
            }
        }
    }

    /// A history stopped by a full disk stays stopped, quietly, across retries while the file
    /// system has nothing free — a retry once recorded again into the room the failed commit
    /// left in the `-wal` file, and the next commit stopped it again — and records again once
    /// space is back, its first row the `lost` report of exactly the count it logged.
    @Test func aHistoryStoppedByAFullDiskRecordsAgainOnceSpaceIsBack() throws {
        try DaemonLifecycleTests.withStateDirectory { directory in
            let state = directory + "/state"
            try Self.withTmpfs(at: state, size: "8m") {
                // 6 MiB of the 8 taken by a file, given back later: well over the daemon's 1 MiB
                // headroom, and room for the checkpoint at its end to copy the -wal into the file.
                let filler = state + "/filler"
                try #require(try Spawn.run(["/bin/dd", "if=/dev/zero", "of=" + filler, "bs=1M", "count=6", "status=none"]).status == 0)
                let socket = directory + "/s.sock"
                let daemon = try DaemonLifecycleTests.startDaemon(["--state-dir", state, "--socket", socket, "--source", Self.source])
                defer { daemon.end() }
                let stopped = { DaemonLog.messages(daemon.stderr, startingWith: "the history stopped:") }
                let again = { DaemonLog.messages(daemon.stderr, startingWith: "the history records again") }
                try #require(Self.fillHistory(of: daemon), "the history never stopped: \(daemon.stderr)")

                // Past one retry (every 10 s) with events to commit, the disk still full.
                let held = ContinuousClock.now + .seconds(HistoryRecorder.retryInterval + 2)
                while ContinuousClock.now < held {
                    _ = try Spawn.run(["/bin/sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do /bin/true; done"])
                    usleep(200_000)
                }
                #expect(stopped().count == 1, "\(daemon.stderr)")
                #expect(again().isEmpty, "\(daemon.stderr)")

                // Space back: the next retry records again.
                try #require(unlink(filler) == 0)
                #expect(eventually(timeout: .seconds(HistoryRecorder.retryInterval + 10)) { !again().isEmpty }, "\(daemon.stderr)")
                let arguments = ["/bin/sh", "-c", "sleep 0.2", "e2e-space-\(getpid())"]
                let child = try Spawn.run(arguments)
                let history = try DatabaseQueue(path: state + "/history.db")
                let recording = try #require(try history.read { try Int64.fetchOne($0, sql: "SELECT max(id) FROM meta") })
                // Committed within 50 ms of arriving; the connector reads the command line from /proc.
                #expect(eventually(timeout: .seconds(10)) {
                    (try? history.read { try String.fetchOne($0, sql: "SELECT cmdline FROM events WHERE recording = ? AND event = 'exec' AND pid = ?",
                                                              arguments: [recording, child.pid]) }) == #"["/bin/sh","-c","sleep 0.2","e2e-space-\#(getpid())"]"#
                })
                try history.close()
                try Self.stopDaemon(daemon)
                #expect(stopped().count == 1)
                let lines = again()
                try #require(lines.count == 1, "\(daemon.stderr)")
                let prefix = "the history records again (", suffix = " events went unrecorded)"
                try #require(lines[0].hasPrefix(prefix) && lines[0].hasSuffix(suffix), "\(lines[0])")
                let logged = try #require(Int(lines[0].dropFirst(prefix.count).dropLast(suffix.count)))

                var readOnly = Configuration()
                readOnly.readonly = true
                let stored = try DatabaseQueue(path: state + "/history.db", configuration: readOnly)
                #expect(try stored.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") } == "ok")
                // The recording that started once space was back: its first row says exactly what
                // the log said went unrecorded; it ended with the SIGTERM.
                let first = try #require(try stored.read { try Row.fetchOne($0, sql: "SELECT event, reason, count FROM events WHERE recording = ? ORDER BY id LIMIT 1",
                                                                                arguments: [recording]) })
                #expect(first["event"] as String? == "lost")
                #expect(first["reason"] as String? == "restart")
                #expect(first["count"] as Int? == logged)
                #expect(try stored.read { try String.fetchOne($0, sql: "SELECT end_reason FROM meta WHERE id = ?", arguments: [recording]) } == "signal")
            }
        }
    }
}
