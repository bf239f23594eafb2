import Glibc
import GRDB
import Testing
@testable import ProcWatch

/// `procwatch daemon` as an operator runs it: it records the host into its history until
/// SIGTERM, ends cleanly, and a daemon killed with SIGKILL leaves a gap that the next one
/// records as such.
@Suite("Daemon lifecycle", .serialized, .enabled(if: getuid() == 0, "the daemon needs root"))
struct DaemonLifecycleTests {
    /// A new empty directory under /tmp (mode 0700).
    private static func makeStateDirectory() throws -> String {
        var template = Array("/tmp/procwatch-daemon-test.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw Spawn.Failure(description: "mkdtemp failed") }
        return String(cString: made)
    }

    /// A state directory of its own, removed afterwards.
    static func withStateDirectory(_ body: (String) throws -> Void) throws {
        let directory = try makeStateDirectory()
        defer { _ = try? Spawn.run(["/bin/rm", "-rf", directory]) }
        try body(directory)
    }

    /// The same, for an async test.
    static func withStateDirectory(_ body: (String) async throws -> Void) async throws {
        let directory = try makeStateDirectory()
        defer { _ = try? Spawn.run(["/bin/rm", "-rf", directory]) }
        try await body(directory)
    }

    /// Starts the daemon and waits until it records.
    static func startDaemon(_ arguments: [String]) throws -> RunningProcwatch {
        let daemon = try RunningProcwatch(["daemon"] + arguments)
        guard eventually(timeout: .seconds(20), { daemon.stderr.contains("recording into") }) else {
            daemon.end()
            Issue.record("the daemon did not start: \(daemon.stderr)")
            throw Spawn.Failure(description: "the daemon did not start")
        }
        return daemon
    }

    @Test func recordsUntilSIGTERMAndEndsCleanly() throws {
        try Self.withStateDirectory { directory in
            let daemon = try Self.startDaemon(["--state-dir", directory, "--socket", directory + "/s.sock", "--source", "connector"])
            let marker = "daemon-test-\(getpid())"
            // Long enough for the connector's /proc read of its command line.
            let child = try Spawn.run(["/bin/sh", "-c", "sleep 0.2; exit 7", marker])
            #expect(child.status == 7 << 8)
            let history = try DatabaseQueue(path: directory + "/history.db")
            // Committed within 10 ms of arriving; give the reader time to see it.
            #expect(eventually(timeout: .seconds(5)) {
                (try? history.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM events WHERE event = 'exit' AND pid = ?", arguments: [child.pid]) }) == 1
            })
            kill(daemon.pid, SIGTERM)
            #expect(daemon.wait(timeout: .seconds(15)) == 0)
            try history.read { db in
                let exec = try Row.fetchOne(db, sql: "SELECT comm, cmdline FROM events WHERE event = 'exec' AND pid = ?", arguments: [child.pid])
                #expect(exec?["comm"] as String? == "sh")
                #expect(exec?["cmdline"] as String? == "[\"/bin/sh\",\"-c\",\"sleep 0.2; exit 7\",\"\(marker)\"]")
                #expect(try Int.fetchOne(db, sql: "SELECT exit_code FROM events WHERE event = 'exit' AND pid = ?", arguments: [child.pid]) == 7 << 8)
                #expect(try String.fetchOne(db, sql: "SELECT end_reason FROM meta ORDER BY id DESC LIMIT 1") == "signal")
            }
            #expect(try ListenerProbe.eventuallyReleased())
        }
    }

    @Test(.enabled(if: kernelWatchersAvailable, "kill -9 of a connector listener would leak the kernel's listener count"))
    func aKilledDaemonsGapIsRecordedByTheNextOne() throws {
        try Self.withStateDirectory { directory in
            let arguments = ["--state-dir", directory, "--socket", directory + "/s.sock", "--source", "bpf"]
            let first = try Self.startDaemon(arguments)
            let before = try Spawn.run(["/bin/true", "before-the-kill"])
            let history = try DatabaseQueue(path: directory + "/history.db")
            #expect(eventually(timeout: .seconds(5)) {
                (try? history.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM events WHERE event = 'exit' AND pid = ?", arguments: [before.pid]) }) == 1
            })
            kill(first.pid, SIGKILL)
            #expect(first.wait() == SIGKILL)
            let second = try Self.startDaemon(arguments)
            #expect(second.stderr.contains("the previous run's history was cut short"))
            kill(second.pid, SIGTERM)
            #expect(second.wait(timeout: .seconds(15)) == 0)
            try history.read { db in
                let recordings = try Row.fetchAll(db, sql: "SELECT id, ended, end_reason FROM meta ORDER BY id")
                #expect(recordings.map { $0["ended"] == nil } == [true, false])
                #expect(recordings.map { $0["end_reason"] as String? } == [nil, "signal"])
                // The second recording's first event says what is missing, and that nobody counted it.
                let first = try Row.fetchOne(db, sql: "SELECT event, reason, count FROM events WHERE recording = 2 ORDER BY id LIMIT 1")
                #expect(first?["event"] as String? == "lost")
                #expect(first?["reason"] as String? == "restart")
                #expect(first?["count"] == nil)
                // What the first committed before the kill is intact.
                #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM events WHERE recording = 1 AND pid = ? AND event = 'exec'", arguments: [before.pid]) == 1)
            }
        }
    }
}
