import CProcWatch
import Glibc
import Netlink
import Synchronization
import Testing
@testable import ProcWatch

/// Against the real kernel (CI runs as root in the initial namespaces). One serialized
/// suite: the listener-count probes must not see another test's subscription.
@Suite("Live kernel", .serialized)
struct LiveKernelTests {
    init() throws {
        try #require(getuid() == 0, "the live tests need root (CI runs them as root)")
    }

    func names(_ events: [ProcessEvent]) -> [String] { events.map(\.name) }

    @Test func nobodyListensBeforeTheTests() throws {
        // If this fails, a program exited without IGNORE (forkstat does) and the kernel's
        // listener count stays raised until reboot: the release tests below cannot tell.
        #expect(try !ListenerProbe.kernelIsSending())
    }

    @Test func forkExecExitWithExitCode() throws {
        let recording = try LiveRecording()
        let child = try Spawn.run(["/bin/sh", "-c", "exit 3"])
        let events = recording.waitForExit(of: child.pid)
        #expect(names(events) == ["fork", "exec", "exit"])
        let me = getpid()
        guard case .fork(let parent, let forked) = events.first?.detail,
              case .exit(let task, let status, let signal, let exitParent) = events.last?.detail else {
            Issue.record("unexpected events \(events)")
            return
        }
        #expect(parent.pid == me)
        #expect(forked == TaskID(pid: child.pid, tid: child.pid))
        #expect(events[1].detail == .exec(TaskID(pid: child.pid, tid: child.pid)))
        #expect(task == TaskID(pid: child.pid, tid: child.pid))
        #expect(status == 768)
        #expect(signal == 17)
        #expect(exitParent.pid == me)
        #expect(events.last?.exitStatus == .exited(3))
        #expect(child.status == 768)
        // Kernel time, mapped to wall time: within a few seconds of now.
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        #expect(abs(Int64(now.tv_sec) - events[0].timestamp.unixNanoseconds / 1_000_000_000) < 5)
    }

    @Test func killedBySIGKILL() throws {
        let recording = try LiveRecording()
        let pid = try Spawn.start(["/bin/sleep", "30"])
        recording.wait(for: pid) { $0.contains { $0.name == "exec" } }
        kill(pid, SIGKILL)
        Spawn.wait(pid)
        let events = recording.waitForExit(of: pid)
        #expect(names(events) == ["fork", "exec", "exit"])
        #expect(events.last?.exitStatus == .signaled(9, core: false))
        if case .exit(_, let status, _, _) = events.last?.detail { #expect(status == 9) }
    }

    @Test func segfaultSendsCoredumpThenExit() throws {
        let recording = try LiveRecording()
        let child = try Spawn.run(["/bin/sh", "-c", "ulimit -c 0; kill -SEGV $$"])
        let events = recording.waitForExit(of: child.pid)
        #expect(names(events) == ["fork", "exec", "coredump", "exit"])
        guard case .coredump(let task, let parent) = events[2].detail else { Issue.record("\(events)"); return }
        #expect(task == TaskID(pid: child.pid, tid: child.pid))
        #expect(parent.pid == getpid())
        #expect(events.last?.exitStatus == .signaled(11, core: false))
        #expect(child.status == 11)
    }

    @Test func threadsForkAndExitAsThreads() throws {
        let recording = try LiveRecording()
        let tid = Mutex<Int32>(0)
        var thread = pthread_t()
        let box = Unmanaged.passRetained(Box { tid.withLock { $0 = Spawn.currentThreadID() } }).toOpaque()
        #expect(pthread_create(&thread, nil, { raw in
            Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, box) == 0)
        pthread_join(thread, nil)
        let threadID = tid.withLock { $0 }
        let me = getpid()
        let events = recording.wait(for: me) { events in
            events.contains { if case .exit(let task, _, _, _) = $0.detail { task.tid == threadID } else { false } }
        }.filter { $0.subject?.tid == threadID }
        #expect(names(events) == ["fork", "exit"])
        guard case .fork(let parent, let child) = events.first?.detail else { Issue.record("\(events)"); return }
        #expect(child == TaskID(pid: me, tid: threadID))
        #expect(child.isThread)
        #expect(parent.pid == getppid())  // a thread's fork names the process's parent
        #expect(events.last?.detail == .exit(TaskID(pid: me, tid: threadID), waitStatus: 0, exitSignal: -1,
                                             parent: TaskID(pid: 0, tid: 0)))
    }

    final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    @Test func uidAndGidChanges() throws {
        let recording = try LiveRecording()
        let child = try Spawn.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/bin/true"])
        #expect(child.status == 0)
        let events = recording.waitForExit(of: child.pid).filter { $0.name == "uid" || $0.name == "gid" }
        // setpriv changes the user ids first, then the group ids.
        #expect(events.map(\.detail) == [
            .uid(TaskID(pid: child.pid, tid: child.pid), real: 65534, effective: 65534),
            .gid(TaskID(pid: child.pid, tid: child.pid), real: 65534, effective: 65534),
        ])
    }

    @Test func newSession() throws {
        let recording = try LiveRecording()
        let child = try Spawn.run(["setsid", "/bin/true"])
        let events = recording.waitForExit(of: child.pid)
        #expect(names(events) == ["fork", "exec", "sid", "exec", "exit"])
        #expect(events[2].detail == .sid(TaskID(pid: child.pid, tid: child.pid)))
    }

    @Test func commChange() throws {
        let recording = try LiveRecording()
        let child = try Spawn.run(["/bin/sh", "-c", "printf procwatch-test > /proc/self/comm"])
        let events = recording.waitForExit(of: child.pid)
        #expect(names(events) == ["fork", "exec", "comm", "exit"])
        #expect(events[2].detail == .comm(TaskID(pid: child.pid, tid: child.pid), name: "procwatch-test"))
    }

    @Test func ptraceAttachAndDetach() throws {
        let recording = try LiveRecording()
        let tracee = try Spawn.start(["/bin/sleep", "30"])
        defer {
            kill(tracee, SIGKILL)
            Spawn.wait(tracee)
        }
        recording.wait(for: tracee) { $0.contains { $0.name == "exec" } }
        let devNull = open("/dev/null", O_WRONLY)
        defer { close(devNull) }
        let tracer = try Spawn.start(["strace", "-p", "\(tracee)", "-o", "/dev/null"], stdout: devNull, stderr: devNull)
        recording.wait(for: tracee) { $0.contains { $0.name == "ptrace" } }
        usleep(500_000)  // let strace finish attaching and install its handlers: then SIGTERM makes it detach
        kill(tracer, SIGTERM)
        Spawn.wait(tracer)
        let events = recording.wait(for: tracee) { $0.filter { $0.name == "ptrace" }.count == 2 }
            .filter { $0.name == "ptrace" }
        #expect(events.map(\.detail) == [
            .ptrace(TaskID(pid: tracee, tid: tracee), tracer: TaskID(pid: tracer, tid: tracer)),
            .ptrace(TaskID(pid: tracee, tid: tracee), tracer: TaskID(pid: 0, tid: 0)),
        ])
    }

    // MARK: Kernel filter

    /// Reads raw datagrams for `window` from a socket with the given kernel filter.
    func rawFiltered(_ kinds: ProcessEventKinds, while body: () throws -> Void) throws -> [ProcessEvent] {
        let socket = try NetlinkSocket(netlinkProtocol: NETLINK_CONNECTOR, groups: UInt32(CN_IDX_PROC))
        defer {
            try? socket.send(SubscriptionRequest.operation(.ignore, acknowledgement: 0))
            socket.close()
        }
        let batch = DatagramBatch()
        try Handshake.listen(on: socket, batch: batch, timeout: .seconds(1))
        try socket.send(SubscriptionRequest.filter(kinds, acknowledgement: 0))
        try body()
        var events: [ProcessEvent] = []
        let deadline = ContinuousClock.now + .milliseconds(500)
        while ContinuousClock.now < deadline {
            guard case .datagrams(let count) = try socket.receive(into: batch, timeout: deadline - ContinuousClock.now) else { continue }
            for index in 0..<count {
                ProcEventDecoder.decode(batch.datagram(index)) { if case .event(let event) = $0 { events.append(event) } }
            }
        }
        return events
    }

    @Test func kernelFilterPassesOnlyTheAskedKinds() throws {
        var child: Int32 = 0
        let events = try rawFiltered(.exec) { child = try Spawn.run(["/bin/sh", "-c", "exit 3"]).pid }
        #expect(!events.isEmpty)
        #expect(Set(events.map(\.name)) == ["exec"])
        #expect(events.contains { $0.detail == .exec(TaskID(pid: child, tid: child)) })
    }

    @Test func kernelFilterNonZeroExitPassesExit3NotExit0() throws {
        var failing: Int32 = 0
        var succeeding: Int32 = 0
        let events = try rawFiltered(.failedExit) {
            succeeding = try Spawn.run(["/bin/sh", "-c", "exit 0"]).pid
            failing = try Spawn.run(["/bin/sh", "-c", "exit 3"]).pid
        }
        #expect(Set(events.map(\.name)) == ["exit"])
        #expect(events.allSatisfy { $0.exitStatus != .exited(0) })
        #expect(events.contains { $0.pid == failing && $0.exitStatus == .exited(3) })
        #expect(!events.contains { $0.pid == succeeding })
    }

    @Test func failedExitStreamUsesTheKernelFilter() async throws {
        let source = ProcessEventSource()
        var failures = try ProcessEvents(.failedExit, source: source).subscribe()
        #expect(source.kernelFilter == .failedExit)
        let succeeding = try Spawn.run(["/bin/sh", "-c", "exit 0"]).pid
        let failing = try Spawn.run(["/bin/sh", "-c", "exit 3"]).pid
        var seen: [ProcessEvent] = []
        while let event = try await failures.next() {
            seen.append(event)
            if event.pid == failing { break }
        }
        #expect(!seen.contains { $0.pid == succeeding })
        #expect(seen.allSatisfy { $0.name == "exit" && $0.exitStatus != .exited(0) })
        #expect(seen.last?.exitStatus == .exited(3))
    }

    // MARK: Loss

    @Test func overflowIsReportedAsLost() throws {
        let source = ProcessEventSource(configuration: .init(receiveBufferBytes: 4096))
        let watchers = ProcessWatchers(source: source)
        let lost = Recorder<ProcessEvent>()
        let stalled = Atomic<Bool>(false)
        watchers.on(.all) { event in
            if event.kind == nil { lost.append(event) }
            if !stalled.exchange(true, ordering: .relaxed) { usleep(1_500_000) }  // a stalled reader
        }
        try watchers.start()
        defer { watchers.stop() }
        _ = try Spawn.run(["/bin/true"])
        for _ in 0..<150 { _ = try Spawn.run(["/bin/true"]) }
        // Unfiltered: the overflow is reported at once, and the sequence gaps that follow
        // carry the exact number of events the kernel dropped.
        func reasons() -> Set<LossReason> {
            Set(lost.all.compactMap { event -> LossReason? in
                if case .lost(_, let reason, _) = event.detail { return reason }
                return nil
            })
        }
        func counted() -> Int {
            lost.all.reduce(0) { total, event in
                if case .lost(let count, _, _) = event.detail { return total + (count ?? 0) }
                return total
            }
        }
        #expect(eventually(timeout: .seconds(10)) { reasons() == [.overflow, .sequenceGap] && counted() > 0 },
                "lost reports: \(lost.all.map(\.detail))")
    }

    // MARK: Release

    @Test func releasedAfterStop() throws {
        let recording = try LiveRecording()
        #expect(try ListenerProbe.kernelIsSending())
        recording.watchers.stop()
        #expect(try !ListenerProbe.kernelIsSending())
    }

    @Test func releasedAfterCancellation() async throws {
        let source = ProcessEventSource()
        let task = Task { for try await _ in ProcessEvents(.all, source: source) {} }
        #expect(await eventually { source.isListening })
        task.cancel()
        _ = await task.result
        #expect(try ListenerProbe.eventuallyReleased())
    }

    @Test(.serialized, arguments: [SIGTERM, SIGINT, SIGHUP])
    func releasedWhenTheCommandIsSignalled(_ signal: Int32) throws {
        // Primed: this procwatch has printed an event, so it is the one holding the count.
        let run = try Spawn.capture([Spawn.procwatchBinary, "--source", "connector", "--json", "-e", "exec"], primed: true) { pid in
            kill(pid, signal)
        }
        #expect(run.stdout.contains("exec"), "never primed: \(run.stdout) \(run.stderr)")
        #expect(try ListenerProbe.eventuallyReleased(),
                "listener still counted after signal \(signal): status \(run.status), stderr \(run.stderr)")
    }

    @Test func releasedWhenSignalledAtAnyMomentOfStartup() throws {
        // A signal that lands while LISTEN is in flight on another thread: the handler's
        // IGNORE must not be overtaken by it (that leaks the count for good).
        let devNull = open("/dev/null", O_WRONLY)
        defer { close(devNull) }
        // procwatch subscribes some 20-50 ms after exec (debug build): sweep that range.
        for delay in stride(from: 0, through: 80_000, by: 1_500) {
            for signal in [SIGHUP, SIGTERM, SIGINT, SIGUSR1] {
                let pid = try Spawn.start([Spawn.procwatchBinary, "--source", "connector", "--json", "-e", "exit"],
                                          stdout: devNull)
                usleep(useconds_t(delay))
                kill(pid, signal)
                if Spawn.wait(pid, timeout: .seconds(5)) == nil {
                    // A signal lost at startup: the watch would never end.
                    Issue.record("procwatch ignored signal \(signal) sent \(delay) µs after start")
                    kill(pid, SIGKILL)
                    Spawn.wait(pid)
                }
            }
        }
        #expect(try ListenerProbe.eventuallyReleased())
    }

    @Test func releasedWhenThePipeCloses() throws {
        // `procwatch | head -1`: the write after head exits raises SIGPIPE.
        let run = try Spawn.capture(["/bin/sh", "-c", "\(Spawn.procwatchBinary) --source connector | head -n 1"]) { _ in
            _ = try Spawn.run(["/bin/true"])
        }
        #expect(run.stdout.split(separator: "\n").count == 1)
        #expect(try ListenerProbe.eventuallyReleased())
    }

    @Test func twoProcessesEachGetEveryEvent() throws {
        let first = try Spawn.capture([Spawn.procwatchBinary, "--source", "connector", "--json", "-e", "exit", "-D", "2"]) { _ in
            let second = try Spawn.capture([Spawn.procwatchBinary, "--source", "connector", "--json", "-e", "exit", "-D", "1.5"]) { _ in
                usleep(500_000)
                let child = try Spawn.run(["/bin/sh", "-c", "exit 7"]).pid
                setenv("PROCWATCH_TEST_CHILD", "\(child)", 1)
            }
            let child = String(cString: getenv("PROCWATCH_TEST_CHILD"))
            #expect(second.stdout.contains("\"pid\":\(child),\"tid\":\(child)"), "second: \(second.stdout)")
        }
        let child = String(cString: getenv("PROCWATCH_TEST_CHILD"))
        #expect(first.stdout.contains("\"pid\":\(child),\"tid\":\(child)"), "first: \(first.stdout)")
        #expect(try ListenerProbe.eventuallyReleased())
    }

    // MARK: Namespaces

    @Test func otherNetworkNamespaceIsAClearError() throws {
        let run = try Spawn.capture(["unshare", "--net", Spawn.procwatchBinary, "--source", "connector"])
        #expect(run.status == 2 << 8)
        #expect(run.stderr == "procwatch: \(ProcWatchError.otherNetworkNamespace)\n")
    }

    @Test func otherUserNamespaceIsAClearErrorNotAHang() throws {
        let run = try Spawn.capture(["unshare", "--user", "--map-root-user", Spawn.procwatchBinary, "--source", "connector"])
        #expect(run.status == 2 << 8)
        // Kernels differ: some refuse the bind there, others take it and ignore the LISTEN.
        #expect(run.stderr == (ConnectorPrivilege.userNamespaceMayBind
            ? "procwatch: \(ProcWatchError.subscriptionIgnored(timeout: .seconds(1)))\n" : ConnectorPrivilege.bindRefused))
    }
}
