import Glibc
import Testing
@testable import ProcWatch

extension LiveKernelTests.CommandLineTests {
    /// Issue #11's "done when": `procwatch --source bpf --json -e all` over a mixed workload
    /// — exit codes, a signal death, a core dump, setuid/setgid, setsid, a comm change, a
    /// thread, ptrace, a double-forking daemon, a failed exec — with exact fields; and
    /// `--source connector`, watching the same run at the same time, with the same events
    /// minus the kernel-only additions (`exec_failed`, the kernel's exec and exit fields).
    @Test(.enabled(if: kernelWatchersAvailable, "needs root and libbpf.so.1"))
    func mixedWorkloadUnderBothSources() throws {
        let directory = "/tmp/procwatch-mixed-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        mkdir(directory, 0o755)
        defer { _ = try? Spawn.run(["/bin/rm", "-rf", directory]) }
        let commands = [
            "/bin/sh -c 'exit 7'",
            "/bin/sh -c 'kill -TERM $$'",
            "/bin/sh -c 'ulimit -c unlimited; kill -SEGV $$'",
            "/usr/bin/setpriv --reuid=4321 --regid=4321 --clear-groups /bin/true",
            "/usr/bin/setsid /bin/true",
            "/bin/sh -c 'printf renamed > /proc/self/comm'",
            "/usr/bin/python3 -c 'import threading; t = threading.Thread(target=lambda: None); t.start(); t.join()'",
            "/usr/bin/strace -f -o /dev/null /bin/true",
            "/bin/sh -c '(/bin/sh -c \"/bin/sleep 0.2\" &) ; exit 0'",
            "/nonexistent/prog a b",
            "/bin/sleep 0.5",
        ]
        let gate = try gatedRoot("cd \(directory); " + commands.joined(separator: "; ") + "; exit 0")
        let bpf = try RunningProcwatch(["--source", "bpf", "--json", "-e", "all"])
        let connector = try RunningProcwatch(["--source", "connector", "--json", "-e", "all"])
        #expect(bpf.waitForSourceLine() == "procwatch: source: bpf (asked for)")
        #expect(connector.waitForSourceLine() == "procwatch: source: connector (asked for)")
        gate.release()
        #expect(Spawn.wait(gate.pid) == 0)
        usleep(300_000)
        kill(bpf.pid, SIGTERM)
        kill(connector.pid, SIGTERM)
        #expect(bpf.wait() == 0, "\(bpf.stderr)")
        #expect(connector.wait() == 0, "\(connector.stderr)")

        let root = gate.pid
        let fromBPF = try Workload(jsonLines(bpf.stdout), root: root)
        let fromConnector = try Workload(jsonLines(connector.stdout), root: root, members: fromBPF.members)
        func int(_ value: Any?) -> Int? { value as? Int }
        // JSON booleans come back as numbers in a [String: Any]: read each as what it is.
        func signal(_ exit: [String: Any]?) -> String? {
            guard let status = exit?["status"] as? [String: Any], let number = status["signaled"] as? Int,
                  let core = status["core"] as? Bool else { return nil }
            return "signaled \(number), core \(core)"
        }

        // Exit codes and the raw wait status.
        let seven = try fromBPF.process(["/bin/sh", "-c", "exit 7"])
        #expect(fromBPF.names(of: seven) == ["fork", "exec", "exit"])
        let sevenExit = try #require(fromBPF.events(of: seven).last)
        #expect(int(sevenExit["exit_code"]) == 7 << 8 && int(sevenExit["exit_signal"]) == 17)
        #expect(sevenExit["status"] as? [String: Int] == ["exited": 7])
        #expect(int(sevenExit["ppid"]) == Int(root) && sevenExit["thread"] as? Bool == false)
        #expect(int(sevenExit["cpu_user_us"]) != nil && int(sevenExit["peak_rss_kb"]).map { $0 > 0 } == true)

        // A signal death.
        let killed = try fromBPF.process(["/bin/sh", "-c", "kill -TERM $$"])
        #expect(fromBPF.names(of: killed) == ["fork", "exec", "exit"])
        #expect(int(fromBPF.events(of: killed).last?["exit_code"]) == 15)
        #expect(signal(fromBPF.events(of: killed).last) == "signaled 15, core false")

        // A core dump, written to the directory when core_pattern names a plain file.
        let dumped = try fromBPF.process(["/bin/sh", "-c", "ulimit -c unlimited; kill -SEGV $$"])
        #expect(fromBPF.names(of: dumped) == ["fork", "exec", "coredump", "exit"])
        let coredump = fromBPF.events(of: dumped)[2]
        #expect(int(coredump["ppid"]) == Int(root) && int(coredump["tid"]) == Int(dumped))
        let pattern = (try? String(contentsOfFile: "/proc/sys/kernel/core_pattern", encoding: .utf8))?
            .split(separator: "\n").first.map(String.init) ?? ""
        if pattern == "core" {
            #expect(int(fromBPF.events(of: dumped)[3]["exit_code"]) == 11 | 0x80)
            #expect(signal(fromBPF.events(of: dumped)[3]) == "signaled 11, core true")
            #expect(access("\(directory)/core", F_OK) == 0)
        }

        // setuid/setgid, then the exec as that user.
        let setpriv = try fromBPF.process(["/usr/bin/setpriv", "--reuid=4321", "--regid=4321", "--clear-groups", "/bin/true"])
        #expect(Set(fromBPF.names(of: setpriv)) == ["fork", "exec", "uid", "gid", "exit"])
        let ids = fromBPF.events(of: setpriv)
        #expect(ids.contains { $0["event"] as? String == "uid" && int($0["ruid"]) == 4321 && int($0["euid"]) == 4321 })
        #expect(ids.contains { $0["event"] as? String == "gid" && int($0["rgid"]) == 4321 && int($0["egid"]) == 4321 })
        let asUser = try #require(ids.last { $0["event"] as? String == "exec" })
        #expect(asUser["cmdline"] as? [String] == ["/bin/true"])
        #expect(int(asUser["uid"]) == 4321 && int(asUser["gid"]) == 4321 && int(asUser["euid"]) == 4321)

        // setsid.
        let leader = try fromBPF.process(["/usr/bin/setsid", "/bin/true"])
        #expect(fromBPF.names(of: leader) == ["fork", "exec", "sid", "exec", "exit"])
        #expect(int(fromBPF.events(of: leader)[2]["sid"]) == Int(leader))

        // A comm change: the event, and the exit named after it.
        let renamed = try fromBPF.process(["/bin/sh", "-c", "printf renamed > /proc/self/comm"])
        #expect(fromBPF.names(of: renamed) == ["fork", "exec", "comm", "exit"])
        #expect(fromBPF.events(of: renamed)[2]["comm"] as? String == "renamed")
        #expect(fromBPF.events(of: renamed)[3]["comm"] as? String == "renamed")

        // A thread: created and gone in the process, the kernel's -1 exit signal.
        let python = try fromBPF.process(["/usr/bin/python3", "-c",
                                          "import threading; t = threading.Thread(target=lambda: None); t.start(); t.join()"])
        let threadEvents = fromBPF.events(of: python).filter { $0["thread"] as? Bool == true }
        #expect(threadEvents.map { $0["event"] as? String } == ["fork", "exit"])
        if threadEvents.count == 2 {
            let tid = int(threadEvents[0]["tid"])
            #expect(tid != Int(python) && int(threadEvents[1]["tid"]) == tid)
            #expect(int(threadEvents[1]["exit_signal"]) == -1)
        }

        // ptrace: strace attaches to the child it starts.
        let strace = try fromBPF.process(["/usr/bin/strace", "-f", "-o", "/dev/null", "/bin/true"])
        let traced = try fromBPF.process(["/bin/true"], parent: strace)
        let attach = try #require(fromBPF.events(of: traced).first { $0["event"] as? String == "ptrace" })
        #expect(int(attach["tracer_pid"]) == Int(strace) && int(attach["tid"]) == Int(traced))

        // The double-forking daemon: the subshell's child outlives it, reparented out of the
        // tree; its exit names its new parent, its sleep's exit the daemon.
        let outer = try fromBPF.process(["/bin/sh", "-c", "(/bin/sh -c \"/bin/sleep 0.2\" &) ; exit 0"])
        let daemon = try fromBPF.process(["/bin/sh", "-c", "/bin/sleep 0.2"])
        let subshell = try #require(fromBPF.parent(of: daemon))
        #expect(fromBPF.parent(of: subshell) == outer)
        #expect(fromBPF.names(of: subshell) == ["fork", "exit"])
        let daemonExit = try #require(fromBPF.events(of: daemon).last)
        #expect(daemonExit["event"] as? String == "exit" && daemonExit["status"] as? [String: Int] == ["exited": 0])
        #expect(!fromBPF.members.contains(Int32(int(daemonExit["ppid"]) ?? 0)), "reparented out of the tree")
        let sleep = try fromBPF.process(["/bin/sleep", "0.2"], parent: daemon)
        #expect(int(fromBPF.events(of: sleep).last?["ppid"]) == Int(daemon))

        // The failed exec: only the kernel-side source sees it.
        let failed = try #require(fromBPF.all.first { $0["event"] as? String == "exec_failed" && $0["path"] as? String == "/nonexistent/prog" })
        #expect(failed["cmdline"] as? [String] == ["/nonexistent/prog", "a", "b"])
        #expect(int(failed["errno"]) == Int(ENOENT) && failed["error"] as? String == "ENOENT")
        let failedPID = Int32(int(failed["pid"]) ?? 0)
        #expect(fromBPF.names(of: failedPID) == ["fork", "exec_failed", "exit"])
        #expect(int(fromBPF.events(of: failedPID).last?["exit_code"]) == 127 << 8)

        // The connector: the same events of every process of the tree, field by field,
        // minus what only the kernel side has.
        for pid in fromBPF.members.sorted() {
            #expect(fromConnector.projected(pid) == fromBPF.projected(pid), "process \(pid)")
        }
        #expect(!fromConnector.all.contains { $0["event"] as? String == "exec_failed" })
    }
}

/// One source's JSON events of the processes of a tree (from its fork events).
struct Workload {
    let all: [[String: Any]]
    let members: Set<Int32>

    init(_ events: [[String: Any]], root: Int32, members given: Set<Int32>? = nil) {
        var members: Set<Int32> = given ?? [root]
        if given == nil {
            for event in events where event["event"] as? String == "fork" && event["thread"] as? Bool != true {
                if let parent = event["ppid"] as? Int, members.contains(Int32(parent)), let child = event["pid"] as? Int {
                    members.insert(Int32(child))
                }
            }
        }
        self.members = members
        all = events.filter { members.contains(Int32($0["pid"] as? Int ?? 0)) }
    }

    func events(of pid: Int32) -> [[String: Any]] { all.filter { $0["pid"] as? Int == Int(pid) } }
    func names(of pid: Int32) -> [String] { events(of: pid).compactMap { $0["event"] as? String } }

    /// The process whose (last) exec ran `argv`, among `parent`'s children when given.
    func process(_ argv: [String], parent: Int32? = nil) throws -> Int32 {
        let exec = all.last { event in
            event["event"] as? String == "exec" && event["cmdline"] as? [String] == argv
                && (parent == nil || self.parent(of: Int32(event["pid"] as? Int ?? 0)) == parent)
        }
        return Int32(try #require(exec?["pid"] as? Int, "no exec of \(argv)"))
    }

    /// A JSON value as text, an object's keys in order (`status`).
    static func text(_ value: Any) -> String {
        guard let object = value as? [String: Any] else { return "\(value)" }
        return "{" + object.keys.sorted().map { "\($0):\(object[$0]!)" }.joined(separator: ",") + "}"
    }

    /// The parent its fork event named.
    func parent(of pid: Int32) -> Int32? {
        (all.first { $0["event"] as? String == "fork" && $0["pid"] as? Int == Int(pid) && $0["thread"] as? Bool != true }?["ppid"] as? Int)
            .map(Int32.init)
    }

    /// What both sources send of a process's events, as text: the kinds and the fields the
    /// kernel gives either way (parents only where the kernel sends them: fork, coredump,
    /// exit); failed execs, and the kernel-side exec and exit details, left out.
    func projected(_ pid: Int32) -> [String] {
        let shared = ["event", "pid", "tid", "thread", "exit_code", "exit_signal", "status", "ruid", "euid", "rgid", "egid",
                      "sid", "tracer_pid", "tracer_tid"]
        return events(of: pid).compactMap { event -> String? in
            guard let name = event["event"] as? String, name != "exec_failed" else { return nil }
            var fields = shared
            if ["fork", "coredump", "exit"].contains(name) { fields += ["ppid", "ptid"] }
            if name == "comm" { fields.append("comm") }
            if name == "exec" { fields.removeAll { $0 == "euid" || $0 == "egid" } }  // the kernel-side exec's credentials
            return fields.compactMap { key in event[key].map { "\(key)=\(Self.text($0))" } }.joined(separator: " ")
        }
    }
}
