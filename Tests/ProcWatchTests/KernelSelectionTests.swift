import Glibc
import Testing
@testable import ProcWatch
@testable import ProcWatchCLI

/// `--pid`, `--tree` and `--user` decided in the kernel (BPF source): the CLI's filter turned
/// into the watchers' options (`LiveFilter.kernelSelection`) and a plain consumer of every
/// event, which receives exactly what crossed into user space — while an unrelated busy
/// workload runs.
@Suite("Kernel-side selection from the command line", .serialized,
       .enabled(if: kernelWatchersAvailable, "needs root and libbpf.so.1"))
struct KernelSelectionTests {
    /// The watchers' options for a command line's selection.
    func selection(_ arguments: [String]) throws -> ProcessEventSource.KernelWatcherOptions {
        let command = try #require(try ProcWatchCommand.parseAsRoot(arguments) as? ProcWatchCommand)
        return try command.selecting.filter().kernelSelection()
    }

    /// Records every event that reaches user space while `busy` unrelated work runs and the
    /// gated root is released; returns once the root has exited (and `settle` more).
    func received(_ arguments: (Int32) -> [String], script: String) throws -> (root: Int32, events: [ProcessEvent]) {
        let gate = try LiveKernelTests.CommandLineTests().gatedRoot(script)
        defer { Spawn.wait(gate.pid) }
        var configuration = ProcessEventSource.Configuration(backend: .bpf)
        configuration.kernelWatchers = try selection(arguments(gate.pid))
        let recording = try LiveRecording(configuration: configuration)
        let busy = try Spawn.run(["/bin/sh", "-c", "i=0; while [ $i -lt 100 ]; do /bin/true; i=$((i+1)); done"])
        #expect(busy.status == 0)
        gate.release()
        Spawn.wait(gate.pid)
        recording.waitForExit(of: gate.pid)
        usleep(100_000)  // anything else that would still come
        return (gate.pid, recording.recorder.all)
    }

    @Test func pidOnlyItsOwnEventsAndForks() throws {
        let (root, events) = try received({ ["--pid", "\($0)"] }, script: "/bin/true; exit 3")
        // The root forks rm (the gate's) and /bin/true, then exits 3: nothing of its
        // children, nothing of the 100 busy processes.
        try #require(events.map(\.name) == ["fork", "fork", "exit"], "\(events)")
        for fork in events.prefix(2) {
            guard case .fork(let parent, _) = fork.detail else { continue }
            #expect(parent.pid == root)
        }
        #expect(events[2].pid == root)
        #expect(events[2].exitStatus == .exited(3))
    }

    @Test func treeTheRootAndItsDescendants() throws {
        let (root, events) = try received({ ["--tree", "\($0)"] }, script: "/bin/sh -c 'exit 5'; exit 3")
        // rm (the gate's), then a shell that exits 5.
        try #require(events.map(\.name) == ["fork", "exec", "exit", "fork", "exec", "exit", "exit"], "\(events)")
        let children = events.compactMap { event -> Int32? in
            if case .fork(let parent, let child) = event.detail, parent.pid == root { child.pid } else { nil }
        }
        #expect(children.count == 2)
        #expect(events.map { $0.subject?.pid ?? 0 } == [children[0], children[0], children[0], children[1], children[1], children[1], root])
        #expect(events[4].kernelDetails?.exec?.commandLine == ["/bin/sh", "-c", "exit 5"])
        #expect(events[5].exitStatus == .exited(5))
        #expect(events.last?.exitStatus == .exited(3))
    }

    /// `-e nonzeroexit`: the live view's subscription asks the programs for failed exits
    /// only (with what its process table needs): the filter in force says so.
    @Test func failedExitsOnly() throws {
        let kinds = try EventSelection(parsing: "nonzeroexit").subscription
        let source = ProcessEventSource(configuration: .init(backend: .bpf))
        let watchers = ProcessWatchers(source: source)
        let exits = Recorder<ProcessEvent>()
        watchers.on(kinds) { if $0.name == "exit" { exits.append($0) } }
        try watchers.start()
        defer { watchers.stop() }
        #expect(source.kernelFilter == [.fork, .exec, .comm, .uid, .failedExit])
        let good = try Spawn.run(["/bin/true"]).pid
        let bad = try Spawn.run(["/bin/sh", "-c", "exit 3"]).pid
        #expect(eventually { exits.all.contains { $0.pid == bad } })
        usleep(100_000)
        #expect(!exits.all.contains { $0.pid == good })
        #expect(exits.all.allSatisfy { $0.exitStatus != .exited(0) })
    }

    @Test func userTheTasksOfThatUser() throws {
        // The busy loop and the gate run as root; the user's shell, its /bin/true, and a
        // process that takes the user's effective id alone (the uid event only: its exec and
        // exit are root's). A user id no other test on the host uses at the same time.
        let user = UInt32.random(in: 40_000..<60_000)
        let script = "/usr/bin/setpriv --reuid=\(user) --regid=\(user) --clear-groups /bin/sh -c '/bin/true; exit 2'; "
            + "/usr/bin/setpriv --euid=\(user) /bin/true; /usr/bin/strace -o /dev/null /bin/true; exit 0"
        let (_, events) = try received({ _ in ["--user", "\(user)"] }, script: script)
        // setpriv sets the uid before the gid (it keeps its capabilities for that): the gid
        // event is already the user's. root's strace of a root process: no ptrace event.
        try #require(events.map(\.name) == ["uid", "gid", "exec", "fork", "exec", "exit", "exit", "uid"], "\(events)")
        guard case .uid(let shell, let real, let effective) = events[0].detail,
              case .uid(let other, let otherReal, let otherEffective) = events[7].detail else { return }
        #expect((real, effective) == (user, user))
        #expect(events[1].detail == .gid(shell, real: user, effective: user))
        #expect((otherReal, otherEffective) == (0, user))
        #expect(events[2].pid == shell.pid)
        #expect(events[2].kernelDetails?.exec?.commandLine == ["/bin/sh", "-c", "/bin/true; exit 2"])
        #expect(events[6].pid == shell.pid && events[6].exitStatus == .exited(2))
        #expect(other.pid != shell.pid)
        #expect(events.allSatisfy { $0.name != "exit" || $0.kernelDetails?.usage != nil })
    }
}

extension LiveKernelTests.CommandLineTests {
    /// Through the binary: `--source bpf --tree PID` shows exactly the tree's events.
    @Test(.enabled(if: kernelWatchersAvailable, "needs root and libbpf.so.1"))
    func treeFromTheKernelSideSource() throws {
        let gate = try gatedRoot("/bin/sh -c 'exit 5'; exit 3")
        let procwatch = try RunningProcwatch(["--source", "bpf", "--tree", "\(gate.pid)", "--json", "-e", "all"])
        #expect(procwatch.waitForSourceLine() == "procwatch: source: bpf (asked for)")
        _ = try Spawn.run(["/bin/sh", "-c", "i=0; while [ $i -lt 50 ]; do /bin/true; i=$((i+1)); done"])
        gate.release()
        Spawn.wait(gate.pid)
        usleep(200_000)
        kill(procwatch.pid, SIGTERM)
        #expect(procwatch.wait() == 0, "\(procwatch.stderr)")
        let events = try jsonLines(procwatch.stdout)
        #expect(events.map { $0["event"] as? String ?? "?" } == ["fork", "exec", "exit", "fork", "exec", "exit", "exit"],
                "\(procwatch.stdout)")
        #expect(events.allSatisfy { ($0["pid"] as? Int).map(Int32.init) == gate.pid || ($0["ppid"] as? Int).map(Int32.init) == gate.pid },
                "\(procwatch.stdout)")
        #expect(events.last?["status"] as? [String: Int] == ["exited": 3])
        #expect(events[5]["status"] as? [String: Int] == ["exited": 5])
        #expect(events[4]["cmdline"] as? [String] == ["/bin/sh", "-c", "exit 5"])
    }
}
