import CProcWatch
import Glibc
import Synchronization
import Testing
@testable import ProcWatch

/// Whether the kernel-side watchers can run here: root and libbpf.so.1 (CI has both).
let kernelWatchersAvailable: Bool = {
    var reason = [CChar](repeating: 0, count: 256)
    return getuid() == 0 && procwatch_libbpf_load(&reason, reason.count) != nil
}()

/// The kernel-side watchers against the real kernel: the same workloads as the connector's
/// live tests, seen through the same watchers, with the fields the kernel took at the event.
@Suite("Kernel-side watchers", .serialized, .enabled(if: kernelWatchersAvailable, "needs root and libbpf.so.1"))
struct KernelWatcherTests {
    static let bpf = ProcessEventSource.Configuration(backend: .bpf)

    func names(_ events: [ProcessEvent]) -> [String] { events.map(\.name) }

    @Test func forkExecExitWithExitCodeAndArgv() throws {
        let recording = try LiveRecording(configuration: Self.bpf)
        #expect(recording.source.backendChoice == BackendChoice(backend: .bpf, reason: "asked for"))
        let child = try Spawn.run(["/bin/sh", "-c", "exit 3"])
        let events = recording.waitForExit(of: child.pid)
        try #require(names(events) == ["fork", "exec", "exit"], "\(events) of \(recording.recorder.count)")
        let task = TaskID(pid: child.pid, tid: child.pid)
        // The parent is the test's thread that spawned the child.
        guard case .fork(let parent, let forked) = events[0].detail else { Issue.record("\(events)"); return }
        #expect(parent.pid == getpid())
        #expect(forked == task)
        #expect(events[1].detail == .exec(task))
        let exec = try #require(events[1].kernelDetails?.exec)
        #expect(exec.commandLine == ["/bin/sh", "-c", "exit 3"])
        #expect(exec.isCommandLineCut == false)
        #expect(exec.executable == "/usr/bin/dash")  // /bin/sh as /proc/PID/exe names it on Debian
        #expect(exec.isExecutableUnresolved == false)
        #expect(exec.name == "sh")  // the name exec gave it, from the path it was executed by
        #expect(exec.uid == 0 && exec.effectiveUID == 0 && exec.gid == 0 && exec.effectiveGID == 0)
        #expect(events[2].detail == .exit(task, waitStatus: 768, exitSignal: 17, parent: parent))
        #expect(events[2].exitStatus == .exited(3))
        let usage = try #require(events[2].kernelDetails?.usage)
        #expect(usage.recordCount == 1)
        #expect(usage.peakRSSKiB > 0)

        let tru = try Spawn.run(["/bin/true", "a", "b"])
        let second = recording.waitForExit(of: tru.pid)
        try #require(names(second) == ["fork", "exec", "exit"])
        #expect(second[1].kernelDetails?.exec?.commandLine == ["/bin/true", "a", "b"])
        guard case .fork(let secondParent, _) = second[0].detail else { return }
        #expect(second[2].detail == .exit(TaskID(pid: tru.pid, tid: tru.pid), waitStatus: 0, exitSignal: 17,
                                          parent: secondParent))
    }

    // MARK: Same workload, both sources

    /// The processes of the tree rooted at `root`, from fork events.
    func tree(_ root: Int32, _ events: [ProcessEvent]) -> Set<Int32> {
        var members: Set<Int32> = [root]
        for event in events {
            if case .fork(let parent, let child) = event.detail, members.contains(parent.pid) { members.insert(child.pid) }
        }
        return members
    }

    /// The events of the process tree `argv` starts, from both recordings, once every
    /// process of it has exited (BPF's failed execs left out: the connector has none).
    func bothSources(run argv: [String], connector: LiveRecording, bpf: LiveRecording) throws
        -> (bpf: [ProcessEvent], connector: [ProcessEvent]) {
        let root = try Spawn.run(argv).pid
        connector.waitForExit(of: root)
        bpf.waitForExit(of: root)
        let members = tree(root, bpf.recorder.all)
        // Every process of the tree has exited (strace's child too) before comparing.
        eventually {
            let exits = bpf.recorder.all.filter { $0.name == "exit" && members.contains($0.pid ?? 0) }.count
            let connectorExits = connector.recorder.all.filter { $0.name == "exit" && members.contains($0.pid ?? 0) }.count
            return exits == members.count && connectorExits == members.count
        }
        return (bpf.recorder.all.filter { members.contains($0.subject?.pid ?? 0) && $0.name != "exec_failed" },
                connector.recorder.all.filter { members.contains($0.subject?.pid ?? 0) })
    }

    /// The connector names no parent for an exit when the parent reaped the task between
    /// its exit and the connector's report (`pid_alive` is false by then): a race in the
    /// kernel, which the programs (at `sched_process_exit`, earlier) do not lose. Where the
    /// connector sent zeros for an exit the programs reported too, the programs' parent is
    /// taken as zeros for the comparison.
    static func withoutReapRace(_ bpf: [ProcessEvent.Detail], connector: [ProcessEvent.Detail]) -> [ProcessEvent.Detail] {
        guard bpf.count == connector.count else { return bpf }
        return zip(bpf, connector).map { fromBPF, fromConnector in
            if case .exit(let task, let status, let signal, _) = fromBPF,
               case .exit(task, status, signal, TaskID(pid: 0, tid: 0)) = fromConnector {
                return fromConnector
            }
            return fromBPF
        }
    }

    @Test func everyKindMatchesTheConnector() throws {
        let connector = try LiveRecording()
        let bpf = try LiveRecording(configuration: Self.bpf)
        let workloads: [[String]] = [
            ["/bin/sh", "-c", "exit 3"],
            ["/usr/bin/setsid", "/bin/true"],
            ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/bin/true"],
            ["/bin/sh", "-c", "printf renamed > /proc/self/comm"],
            ["/bin/sh", "-c", "ulimit -c 0; kill -SEGV $$"],
            ["/usr/bin/strace", "-o", "/dev/null", "/bin/true"],
        ]
        for argv in workloads {
            let (fromBPF, fromConnector) = try bothSources(run: argv, connector: connector, bpf: bpf)
            #expect(Self.withoutReapRace(fromBPF.map(\.detail), connector: fromConnector.map(\.detail))
                    == fromConnector.map(\.detail), "\(argv)")
            #expect(fromBPF.allSatisfy { $0.timestamp.monotonicNanoseconds > 0 })
        }
        let kinds = Set(bpf.recorder.all.map(\.name))
        #expect(kinds.isSuperset(of: ["fork", "exec", "exit", "sid", "uid", "gid", "comm", "coredump", "ptrace"]))
    }

    /// A set-user-ID and set-group-ID program's exec: commit_creds() sends a uid and a gid
    /// event just before the exec event, with the new real and effective ids; the programs
    /// send the same, compared at sched_prepare_exec.
    @Test func setUserIDExecSendsTheConnectorsUIDAndGIDEvents() throws {
        let directory = "/tmp/procwatch-setid-\(getpid())"
        mkdir(directory, 0o755)
        defer { _ = try? Spawn.run(["rm", "-rf", directory]) }
        let owner = UInt32.random(in: 20_000..<60_000)
        let group = owner + 1
        let setUID = directory + "/setuid-id", both = directory + "/setuid-setgid-id"
        for (path, mode) in [(setUID, mode_t(0o4755)), (both, mode_t(0o6755))] {
            #expect(try Spawn.run(["cp", "/usr/bin/id", path]).status == 0)
            #expect(chown(path, owner, group) == 0)
            #expect(chmod(path, mode) == 0)  // after chown, which clears the set-id bits
        }
        let connector = try LiveRecording()
        let bpf = try LiveRecording(configuration: Self.bpf)
        let asNobody = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        for (path, expected) in [(setUID, ["uid"]), (both, ["uid", "gid"])] {
            let (fromBPF, fromConnector) = try bothSources(run: asNobody + [path], connector: connector, bpf: bpf)
            #expect(fromBPF.map(\.detail) == fromConnector.map(\.detail), "\(path)")
            // setpriv's own set*id calls, then the exec's events just before the exec of `path`.
            let execAt = try #require(fromBPF.lastIndex { $0.name == "exec" })
            let ids = fromBPF[(execAt - expected.count)..<execAt]
            #expect(ids.map(\.name) == expected, "\(fromBPF)")
            let task = try #require(fromBPF[execAt].subject)
            #expect(ids.first?.detail == .uid(task, real: 65534, effective: owner))
            if expected.count == 2 { #expect(ids.last?.detail == .gid(task, real: 65534, effective: group)) }
            #expect(fromBPF[execAt].kernelDetails?.exec?.effectiveUID == owner)
            let connectorIDs = fromConnector.filter { $0.name == "uid" || $0.name == "gid" }
            #expect(fromBPF.filter { $0.name == "uid" || $0.name == "gid" }.map(\.detail) == connectorIDs.map(\.detail))
        }
    }

    // MARK: Executable path

    /// The path the exec of `argv` (the last exec of the process it starts, which stays alive
    /// a second) reported, next to what /proc/PID/exe says meanwhile: the connector's `exe`.
    func executables(of argv: [String], execs: Int = 1, in recording: LiveRecording) throws
        -> (bpf: ExecDetails, proc: String?) {
        let pid = try Spawn.start(argv)
        defer {
            kill(pid, SIGTERM)
            _ = Spawn.wait(pid)
        }
        let events = recording.wait(for: pid) { $0.filter { $0.name == "exec" }.count == execs }
        let exec = try #require(events.last { $0.name == "exec" }?.kernelDetails?.exec, "\(events)")
        return (exec, ProcFS().executable(pid))
    }

    @Test func executableIsTheOneProcPIDExeNames() throws {
        let recording = try LiveRecording(.exec, configuration: Self.bpf)
        let directory = "/tmp/procwatch-exe-\(getpid())"
        mkdir(directory, 0o755)
        mkdir(directory + "/tmpfs", 0o755)
        mkdir(directory + "/bind", 0o755)
        defer {
            _ = try? Spawn.run(["umount", directory + "/tmpfs"])
            _ = try? Spawn.run(["umount", directory + "/bind"])
            _ = try? Spawn.run(["rm", "-rf", directory])
        }
        #expect(symlink("/bin/sleep", directory + "/link") == 0)
        #expect(try Spawn.run(["mount", "-t", "tmpfs", "procwatch-test", directory + "/tmpfs"]).status == 0)
        #expect(try Spawn.run(["cp", "/usr/bin/sleep", directory + "/tmpfs/nap"]).status == 0)
        #expect(try Spawn.run(["mount", "--bind", "/usr/bin", directory + "/bind"]).status == 0)
        let cases: [(argv: [String], execs: Int, expected: String)] = [
            (["/bin/sh", "-c", "sleep 1; true"], 1, "/usr/bin/dash"),         // /bin/sh → dash, /bin → usr/bin
            (["/bin/sh", "-c", "cd /usr/bin && exec ./sleep 1"], 2, "/usr/bin/sleep"),  // relative
            ([directory + "/link", "1"], 1, "/usr/bin/sleep"),                // a symbolic link
            ([directory + "/tmpfs/nap", "1"], 1, directory + "/tmpfs/nap"),   // a tmpfs mounted below /tmp
            ([directory + "/bind/sleep", "1"], 1, directory + "/bind/sleep"), // a bind mount
        ]
        for (argv, execs, expected) in cases {
            let (exec, proc) = try executables(of: argv, execs: execs, in: recording)
            #expect(exec.executable == expected, "\(argv)")
            #expect(proc == expected, "\(argv)")
            #expect(exec.isExecutableUnresolved == false, "\(argv)")
        }
        // execveat of a descriptor (fexecve): the kernel's filename is /dev/fd/N, the file's path is still named.
        let (fexec, fexecProc) = try executables(of: ["/usr/bin/perl", "-e",
            "open(my $f, '<', '/usr/bin/sleep') or die; exec { '/dev/fd/' . fileno($f) } 'sleep', '1'"], execs: 2,
            in: recording)
        #expect(fexec.executable == "/usr/bin/sleep")
        #expect(fexecProc == "/usr/bin/sleep")
        // A file unlinked before its exec: d_path's " (deleted)".
        #expect(try Spawn.run(["cp", "/usr/bin/sleep", directory + "/gone"]).status == 0)
        let (deleted, deletedProc) = try executables(of: ["/usr/bin/perl", "-e",
            "open(my $f, '<', '\(directory)/gone') or die; unlink('\(directory)/gone'); "
            + "exec { '/dev/fd/' . fileno($f) } 'sleep', '1'"], execs: 2, in: recording)
        #expect(deleted.executable == directory + "/gone (deleted)")
        #expect(deletedProc == directory + "/gone (deleted)")
        // Deeper than the walk goes (64 steps): the path it was executed by, marked.
        let deep = directory + String(repeating: "/d", count: 70)
        #expect(try Spawn.run(["mkdir", "-p", deep]).status == 0)
        #expect(try Spawn.run(["cp", "/usr/bin/sleep", deep + "/nap"]).status == 0)
        let (unresolved, deepProc) = try executables(of: [deep + "/nap", "1"], in: recording)
        #expect(unresolved.executable == deep + "/nap")
        #expect(unresolved.isExecutableUnresolved)
        #expect(deepProc == deep + "/nap")
    }

    // MARK: argv

    func exec(of argv: [String], in recording: LiveRecording) throws -> ExecDetails {
        let pid = try Spawn.run(argv).pid
        let events = recording.wait(for: pid) { $0.contains { $0.name == "exec" } }
        return try #require(events.first { $0.name == "exec" }?.kernelDetails?.exec, "\(events)")
    }

    @Test func argvEdgeCases() throws {
        let recording = try LiveRecording(.exec, configuration: Self.bpf)
        let many = ["/bin/true"] + (0..<200).map { "arg\($0)" }
        #expect(try exec(of: many, in: recording).commandLine == many)

        let empty = ["/bin/true", "", "x", ""]
        #expect(try exec(of: empty, in: recording).commandLine == empty)

        let huge = try exec(of: ["/bin/true", String(repeating: "x", count: 100_000)], in: recording)
        #expect(huge.isCommandLineCut)
        #expect(huge.commandLine.count == 2)
        #expect(huge.commandLine[0] == "/bin/true")
        // 32 KiB copied: "/bin/true\0" and the first 32758 bytes of the argument.
        #expect(huge.commandLine[1] == String(repeating: "x", count: Int(PROCWATCH_BPF_ARGV_MAX) - 10))

        let pid = try Spawn.run(["/bin/sh", "-c", "exec /bin/true \"$(printf '\\377\\376ok')\""]).pid
        let events = recording.wait(for: pid) { $0.count == 2 }
        #expect(events.last?.kernelDetails?.exec?.commandLine == ["/bin/true", "\u{FFFD}\u{FFFD}ok"])
    }

    @Test func argvRewrittenAfterExecIsReportedAsExecuted() throws {
        let recording = try LiveRecording(.exec, configuration: Self.bpf)
        let pid = try Spawn.start(["/usr/bin/perl", "-e", "$0 = 'rewritten'; sleep 2"])
        defer { Spawn.wait(pid) }
        let events = recording.wait(for: pid) { !$0.isEmpty }
        #expect(events.first?.kernelDetails?.exec?.commandLine == ["/usr/bin/perl", "-e", "$0 = 'rewritten'; sleep 2"])
        #expect(eventually { ProcFS().commandLine(pid) == ["rewritten"] })
    }

    // MARK: Failed execs

    func failures(_ script: String, in recording: LiveRecording) throws -> (events: [ProcessEvent], failures: [ExecFailure]) {
        let root = try Spawn.run(["/bin/sh", "-c", script]).pid
        recording.waitForExit(of: root)
        eventually { tree(root, recording.recorder.all).allSatisfy { pid in recording.events(of: pid).contains { $0.name == "exit" } } }
        let members = tree(root, recording.recorder.all)
        let events = recording.recorder.all.filter { members.contains($0.subject?.pid ?? 0) }
        let failures = events.compactMap { event -> ExecFailure? in
            if case .execFailed(_, let failure) = event.detail { failure } else { nil }
        }
        return (events, failures)
    }

    @Test func failedExecs() throws {
        let recording = try LiveRecording(configuration: Self.bpf)
        let missing = try failures("/nonexistent/prog a b; exit 0", in: recording).failures
        #expect(missing == [ExecFailure(path: "/nonexistent/prog", commandLine: ["/nonexistent/prog", "a", "b"],
                                        isCommandLineCut: false, errno: ENOENT)])
        #expect(missing.first?.errorName == "ENOENT")

        let directory = "/tmp/procwatch-bpf-\(getpid())"
        mkdir(directory, 0o755)
        defer {
            unlink("\(directory)/plain")
            unlink("\(directory)/garbage")
            rmdir(directory)
        }
        try write("echo\n", to: "\(directory)/plain", mode: 0o644)
        let denied = try failures("\(directory)/plain x; exit 0", in: recording).failures
        #expect(denied.map(\.errno) == [EACCES])
        #expect(denied.first?.path == "\(directory)/plain")
        #expect(denied.first?.errorName == "EACCES")

        // No ELF, no #!: ENOEXEC (the shell then reads the file as a script itself).
        try write("\u{1}\u{2}\u{3}\n", to: "\(directory)/garbage", mode: 0o755)
        let noexec = try failures("\(directory)/garbage y; exit 0", in: recording).failures
        #expect(noexec.map(\.errno) == [ENOEXEC])
        #expect(noexec.first?.errorName == "ENOEXEC")
        #expect(noexec.first?.commandLine == ["\(directory)/garbage", "y"])

        // bash with execfail survives a failed `exec`: the same process then execs for real.
        let pid = try Spawn.run(["/bin/bash", "-O", "execfail", "-c", "exec /nonexistent/first; exec /bin/true y"]).pid
        let events = recording.waitForExit(of: pid)
        #expect(events.map(\.name) == ["fork", "exec", "exec_failed", "exec", "exit"])
        guard let failedAt = events.firstIndex(where: { $0.name == "exec_failed" }) else { return }
        let next = events[(failedAt + 1)...].first { $0.subject == events[failedAt].subject }
        #expect(next?.name == "exec")
        #expect(next?.kernelDetails?.exec?.commandLine.last == "y")
    }

    func write(_ text: String, to path: String, mode: mode_t) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)
        try #require(fd >= 0)
        _ = text.utf8CString.withUnsafeBufferPointer { Glibc.write(fd, $0.baseAddress, $0.count - 1) }
        fchmod(fd, mode)
        close(fd)
    }

    // MARK: Loss

    @Test func fullRingBufferReportsTheExactCount() throws {
        var configuration = Self.bpf
        configuration.kernelWatchers.ringBufferBytes = 4096
        configuration.kernelWatchers.consumerStall = .milliseconds(1500)
        configuration.kernelWatchers.userID = 4321
        let recording = try LiveRecording(.exec, configuration: configuration)
        let runs = 200
        let status = try Spawn.run(["/usr/bin/setpriv", "--reuid=4321", "--regid=4321", "--clear-groups", "/bin/sh", "-c",
                                    "i=0; while [ $i -lt \(runs) ]; do /bin/true; i=$((i+1)); done"]).status
        #expect(status == 0)
        func tally() -> (execs: Int, lost: Int) {
            let all = recording.recorder.all
            let lost = all.reduce(0) { sum, event in
                if case .lost(let count, .ringBuffer, _) = event.detail { sum + (count ?? 0) } else { sum }
            }
            return (all.filter { $0.name == "exec" }.count, lost)
        }
        // setpriv's own exec ran as root: only the shell's and the /bin/true execs pass.
        eventually(timeout: .seconds(10)) { tally().execs + tally().lost == runs + 1 }
        let (execs, lost) = tally()
        #expect(execs + lost == runs + 1)
        #expect(lost > 0)
        #expect(recording.recorder.all.filter { $0.name == "exec" }.allSatisfy { $0.kernelDetails?.exec?.uid == 4321 })
    }

    // MARK: Choosing the backend

    @Test func autoUsesTheWatchersWhenTheyLoad() throws {
        let recording = try LiveRecording(configuration: .init(backend: .auto))
        #expect(recording.source.backendChoice == BackendChoice(backend: .bpf, reason: "the BPF programs loaded and attached"))
        #expect(recording.source.backendChoice?.description == "source: bpf (the BPF programs loaded and attached)")
    }

    @Test func autoFallsBackToTheConnectorWhenBPFIsRefused() throws {
        var configuration = ProcessEventSource.Configuration(backend: .auto)
        configuration.kernelWatchers.simulatedRefusal = "loading the BPF programs was refused (EPERM)"
        let recording = try LiveRecording(configuration: configuration)
        #expect(recording.source.backendChoice == BackendChoice(
            backend: .connector, reason: "BPF unavailable: loading the BPF programs was refused (EPERM)"))
        let child = try Spawn.run(["/bin/true"])
        let events = recording.waitForExit(of: child.pid)
        #expect(events.map(\.name) == ["fork", "exec", "exit"])
        #expect(events.allSatisfy { $0.kernelDetails == nil })
    }

    @Test func bpfAskedForFailsWithOneLine() throws {
        var configuration = Self.bpf
        configuration.kernelWatchers.simulatedRefusal = "libbpf.so.1 not found"
        let source = ProcessEventSource(configuration: configuration)
        let watchers = ProcessWatchers(source: source)
        watchers.on(.exec) { _ in }
        #expect(throws: ProcWatchError.kernelWatchersUnavailable(reason: "libbpf.so.1 not found")) { try watchers.start() }
        #expect(!source.isListening)
        #expect(ProcWatchError.kernelWatchersUnavailable(reason: "libbpf.so.1 not found").description
            == "the kernel-side (BPF) watchers are unavailable: libbpf.so.1 not found")
    }

    @Test func kindsAreFilteredInTheKernel() throws {
        let recording = try LiveRecording(.exec, configuration: Self.bpf)
        #expect(recording.source.kernelFilter == .exec)
        let child = try Spawn.run(["/bin/true"])
        let events = recording.wait(for: child.pid) { !$0.isEmpty }
        #expect(events.map(\.name) == ["exec"])
    }

    // MARK: Detaching

    /// Counted by this process's descriptors, not on the whole host: a procwatch another test
    /// runs at the same time has programs of the same names.
    @Test func programsAreDetachedWhenTheLastConsumerLeaves() throws {
        var ids: Set<Int> = []
        do {
            let recording = try LiveRecording(configuration: Self.bpf)
            #expect(try BPFPrograms.names(attachedBy: getpid()) == KernelWatchers.programs.map(\.name).sorted())
            ids = BPFPrograms.owned(by: getpid())
            recording.watchers.stop()
        }
        #expect(BPFPrograms.owned(by: getpid()).isEmpty)
        #expect(BPFPrograms.allGone(ids))
    }
}
