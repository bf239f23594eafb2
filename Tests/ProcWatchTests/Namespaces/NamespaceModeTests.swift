import Foundation
import Glibc
import Testing
@testable import ProcWatch

/// `run` and the live view inside `unshare`, through the real binary: the one line that
/// says which mode procwatch works in there, and what that mode shows of a known workload.
/// Every command runs under `timeout -s KILL` and `unshare --kill-child` (procwatch, or the
/// shell, is the namespace's init: killing it ends the namespace), so nothing outlives a
/// test. None uses the connector (refused or ignored there): no listener count is raised.
@Suite("Inside namespaces", .serialized, .enabled(if: getuid() == 0, "unshare needs root"))
struct NamespaceModeTests {
    static let scanning = "scanning this namespace's /proc every 10 ms: processes that live shorter are counted as lost, "
        + "not shown; exit statuses only of zombies seen"
    /// In `unshare -Urpf --mount-proc` as root (uid_map `0 0 1`): BPF refused, the connector ignored.
    static let userNamespaceLine = "procwatch: source: procfs (in a user namespace (uid_map 0 0 1) and a pid namespace of its own: "
        + "eBPF is refused (\(SourceRefusalTests.refusal)) and the connector ignores LISTEN from here; \(scanning))\n"
    /// `run` in `unshare -pf --mount-proc`: BPF works, but its pids are not this namespace's.
    static let pidNamespaceRunLine = "procwatch: source: procfs (in a pid namespace of its own: the kernel's sources name "
        + "processes by the initial namespace's pids; \(scanning))\n"
    static let networkNote = "; in a network namespace of its own: the connector is refused there, BPF sees every process of the machine"

    /// The workload: `sh -c 'sleep 0.3; exit 3'` whose zombie waits (its parent execs a
    /// sleep that never reaps it), so that a scan sees its exit status.
    static let workload = #"sh -c 'sh -c "sleep 0.3; exit 3" & exec sleep 1.2'"#

    static func capture(_ unshare: [String], _ command: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let run = try Spawn.capture(["/usr/bin/timeout", "-s", "KILL", "30", "/usr/bin/unshare"] + unshare + command)
        return (run.status, run.stdout, run.stderr)
    }

    static func object(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
    }

    static func lines(_ text: String) -> [[String: Any]] { text.split(separator: "\n").map { object(String($0)) } }

    // MARK: run

    @Test func runInAUserNamespaceScansItsOwnTree() throws {
        let run = try Self.capture(["-Urpf", "--mount-proc", "--kill-child"],
                                   [Spawn.procwatchBinary, "run", "--json", "--", "sh", "-c", "sleep 0.3; exit 3"])
        #expect(run.status == 3 << 8, "\(run.stderr)")
        #expect(run.stderr == Self.userNamespaceLine)
        let report = Self.object(run.stdout)
        #expect(report["source"] as? String == "procfs")
        #expect(report["processes"] as? Int == 2)
        #expect(report["exit_status"] as? [String: Int] == ["exited": 3])
        #expect(report["lost_tasks"] is Int)
        #expect(report["unavailable"] as? String == "the /proc scanner reads no CPU, memory or I/O figures")
        let tree = report["tree"] as? [String: Any] ?? [:]
        #expect(tree["cmdline"] as? [String] == ["sh", "-c", "sleep 0.3; exit 3"])
        #expect(tree["status"] as? [String: Int] == ["exited": 3])
        let children = tree["children"] as? [[String: Any]] ?? []
        #expect(children.map { $0["cmdline"] as? [String] } == [["sleep", "0.3"]])
    }

    @Test func runInAUserNamespaceReadsAnAdoptedOrphansStatus() throws {
        // The orphan is adopted by procwatch (the namespace's init), which reads its zombie
        // and reaps it: its status is known though its parent never waited for it.
        let run = try Self.capture(["-Urpf", "--mount-proc", "--kill-child"],
                                   [Spawn.procwatchBinary, "run", "--wait-all", "--", "sh", "-c", "sh -c 'sleep 0.3; exit 5' & sleep 0.1; exit 3"])
        #expect(run.status == 3 << 8, "\(run.stderr)")
        #expect(run.stderr == Self.userNamespaceLine)
        #expect(run.stdout.contains("  status     exit 3\n  source     procfs\n"), "\(run.stdout)")
        // sh, its background sh, that one's sleep 0.3, and sleep 0.1.
        #expect(run.stdout.contains("  processes  4 started, 0 threads, 2 failed\n"), "\(run.stdout)")
        #expect(run.stdout.contains(" sh -c sleep 0.3; exit 5 (exit 5)\n"), "\(run.stdout)")
    }

    @Test func runInAPidNamespaceScansRatherThanMisnameItsTree() throws {
        let run = try Self.capture(["-pf", "--mount-proc", "--kill-child"],
                                   [Spawn.procwatchBinary, "run", "--json", "--", "sh", "-c", "sleep 0.3; exit 3"])
        #expect(run.status == 3 << 8, "\(run.stderr)")
        #expect(run.stderr == Self.pidNamespaceRunLine)
        let report = Self.object(run.stdout)
        #expect(report["source"] as? String == "procfs")
        #expect(report["processes"] as? Int == 2)
        #expect(report["exit_status"] as? [String: Int] == ["exited": 3])
    }

    @Test(.enabled(if: kernelWatchersAvailable, "needs libbpf.so.1"))
    func runInANetworkNamespaceUsesBPF() throws {
        let run = try Self.capture(["-n"], [Spawn.procwatchBinary, "run", "--json", "--", "sh", "-c", "sleep 0.3; exit 3"])
        #expect(run.status == 3 << 8, "\(run.stderr)")
        #expect(run.stderr.hasPrefix("procwatch: source: bpf (the BPF programs loaded and attached"), "\(run.stderr)")
        #expect(run.stderr.contains(Self.networkNote), "\(run.stderr)")
        let report = Self.object(run.stdout)
        #expect(report["source"] == nil)
        #expect(report["processes"] as? Int == 2)
        #expect(report["exit_status"] as? [String: Int] == ["exited": 3])
        let tree = report["tree"] as? [String: Any] ?? [:]
        #expect((tree["children"] as? [[String: Any]])?.map { $0["status"] as? [String: Int] } == [["exited": 0]])
    }

    // MARK: The live view

    @Test func liveViewInAUserNamespaceScansProc() throws {
        let run = try Self.capture(["-Urpf", "--mount-proc", "--kill-child"], ["sh", "-c",
            // 4 s for procwatch to start scanning first (a debug build under the whole suite's load).
            "\(Spawn.procwatchBinary) --json -D 8 -e fork,exec,exit & sleep 4; \(Self.workload); wait"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr == Self.userNamespaceLine)
        let lines = Self.lines(run.stdout)
        #expect(!lines.isEmpty)
        #expect(lines.allSatisfy { $0["source"] as? String == "procfs" && $0["cpu"] == nil && $0["seq"] == nil })
        let execs = lines.filter { $0["event"] as? String == "exec" }
        let shell = execs.first { $0["cmdline"] as? [String] == ["sh", "-c", "sleep 0.3; exit 3"] }
        let sleeper = execs.first { $0["cmdline"] as? [String] == ["sleep", "0.3"] }
        #expect(shell != nil, "\(run.stdout)")
        #expect(sleeper?["ppid"] as? Int == shell?["pid"] as? Int)
        let exit = lines.first { $0["event"] as? String == "exit" && $0["pid"] as? Int == shell?["pid"] as? Int }
        #expect(exit?["exit_code"] as? Int == 768, "\(run.stdout)")
        #expect(exit?["status"] as? [String: Int] == ["exited": 3])
        #expect(exit?["cmdline"] as? [String] == ["sh", "-c", "sleep 0.3; exit 3"])
    }

    @Test(.enabled(if: kernelWatchersAvailable, "needs libbpf.so.1"))
    func liveViewInANetworkNamespaceUsesBPF() throws {
        let run = try Self.capture(["-n", "--kill-child"], ["sh", "-c",
            "\(Spawn.procwatchBinary) --json -D 5 -e exec,exit & sleep 2; \(Self.workload); wait"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.hasPrefix("procwatch: source: bpf (the BPF programs loaded and attached"), "\(run.stderr)")
        #expect(run.stderr.contains(Self.networkNote), "\(run.stderr)")
        let lines = Self.lines(run.stdout)
        let shell = lines.first { $0["event"] as? String == "exec" && $0["cmdline"] as? [String] == ["sh", "-c", "sleep 0.3; exit 3"] }
        #expect(shell?["source"] == nil, "\(run.stdout.prefix(2000))")
        let exit = lines.first { $0["event"] as? String == "exit" && $0["pid"] as? Int == shell?["pid"] as? Int }
        #expect(exit?["exit_code"] as? Int == 768)
        #expect(exit?["source"] == nil)
    }
}
