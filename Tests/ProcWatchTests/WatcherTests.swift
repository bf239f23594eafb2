import Glibc
import Synchronization
import Testing
@testable import ProcWatch

/// Task watchers: chains per kind, order, stopping, failures, removal, per-process scopes.
@Suite("Task watchers")
struct WatcherTests {
    struct Boom: Error {}

    func running() throws -> (ScriptedKernel, ProcessWatchers) {
        let kernel = ScriptedKernel()
        let source = ProcessEventSource(configuration: .init(usesKernelFilter: false), transport: { kernel })
        return (kernel, ProcessWatchers(source: source))
    }

    @Test func readmeExampleRegistersInOneLine() throws {
        let (kernel, watchers) = try running()
        let execs = Recorder<Int32>()
        watchers.on(.exec) { event in execs.append(event.pid!) }
        try watchers.start()
        kernel.deliver(KernelBytes.exec(77, sequence: 1), KernelBytes.exit(77, status: 0, sequence: 2))
        #expect(eventually { execs.count == 1 })
        usleep(20_000)
        #expect(execs.all == [77])
        watchers.stop()
    }

    @Test func watchersRunByOrderThenRegistration() throws {
        let (kernel, watchers) = try running()
        let calls = Recorder<String>()
        watchers.on(.exec) { _ in calls.append("b (order 0, first)") }
        watchers.on(.exec, order: 5) { _ in calls.append("d (order 5)") }
        watchers.on(.exec, order: -1) { _ in calls.append("a (order -1)") }
        watchers.on([.fork, .exec]) { _ in calls.append("c (order 0, second)") }
        try watchers.start()
        kernel.deliver(KernelBytes.exec(1, sequence: 1))
        #expect(eventually { calls.count == 4 })
        #expect(calls.all == ["a (order -1)", "b (order 0, first)", "c (order 0, second)", "d (order 5)"])
        watchers.stop()
    }

    @Test func aWatcherCanStopItsChainOnly() throws {
        let (kernel, watchers) = try running()
        let calls = Recorder<String>()
        watchers.intercept(.exec) { _ in
            calls.append("gate")
            return .stop
        }
        watchers.on(.exec) { _ in calls.append("after gate") }
        watchers.on(.exit) { _ in calls.append("exit chain") }
        try watchers.start()
        kernel.deliver(KernelBytes.exec(1, sequence: 1), KernelBytes.exit(1, status: 0, sequence: 2))
        #expect(eventually { calls.count == 2 })
        usleep(20_000)
        #expect(calls.all == ["gate", "exit chain"])
        watchers.stop()
    }

    @Test func aThrowingWatcherIsIsolatedAndReported() throws {
        let (kernel, watchers) = try running()
        let calls = Recorder<String>()
        let failures = Recorder<String>()
        let thrower = watchers.on(.exec) { _ in throw Boom() }
        watchers.on(.exec) { _ in calls.append("ran") }
        watchers.onFailure { failure in failures.append("\(failure.watcher.id) \(failure.event.name) \(failure.error)") }
        try watchers.start()
        kernel.deliver(KernelBytes.exec(1, sequence: 1), KernelBytes.exec(2, sequence: 2))
        #expect(eventually { calls.count == 2 && failures.count == 2 })
        #expect(failures.all == ["\(thrower.id) exec Boom()", "\(thrower.id) exec Boom()"])
        #expect(watchers.failureCount == 2)
        watchers.stop()
    }

    @Test func removedWatchersAreNotCalled() throws {
        let (kernel, watchers) = try running()
        let calls = Recorder<Int32>()
        let handle = watchers.on(.exec) { calls.append($0.pid!) }
        try watchers.start()
        kernel.deliver(KernelBytes.exec(1, sequence: 1))
        #expect(eventually { calls.count == 1 })
        handle.remove()
        handle.remove()
        kernel.deliver(KernelBytes.exec(2, sequence: 2))
        #expect(eventually { kernel.pendingIsEmpty })
        usleep(20_000)
        #expect(calls.all == [1])
        watchers.stop()
    }

    @Test func lostEventsReachEveryWatcher() throws {
        let (kernel, watchers) = try running()
        let seen = Recorder<String>()
        watchers.on(.comm) { seen.append($0.name) }
        watchers.on(.exit, scope: .process(5)) { seen.append($0.name) }
        try watchers.start()
        kernel.deliver(KernelBytes.exec(1, sequence: 1), KernelBytes.exec(1, sequence: 4))
        #expect(eventually { seen.count == 2 })
        #expect(seen.all == ["lost", "lost"])
        watchers.stop()
    }

    @Test func processScopeSeesOnlyThatProcess() throws {
        let (kernel, watchers) = try running()
        let seen = Recorder<String>()
        watchers.on(.all, scope: .process(50)) { seen.append("\($0.name) \($0.pid!)") }
        try watchers.start()
        kernel.deliver(KernelBytes.exec(49, sequence: 1), KernelBytes.exec(50, sequence: 2),
                       KernelBytes.fork(parent: 50, child: 51, sequence: 3), KernelBytes.exec(51, sequence: 4),
                       KernelBytes.exit(50, status: 256, sequence: 5))
        #expect(eventually { seen.count == 3 })
        usleep(20_000)
        #expect(seen.all == ["exec 50", "fork 51", "exit 50"])
        watchers.stop()
    }

    /// A tree of a running process starts with the descendants it has (read from /proc)
    /// and reads them again at the first event; a plain tree holds only its root.
    @Test func aTreeOfARunningProcessStartsWithItsLiveDescendants() throws {
        let root = try Spawn.start(["/bin/sh", "-c", "/bin/sleep 5 & /bin/sh -c '/bin/sleep 5; :'; wait"])
        func children(_ pid: Int32) -> [Int32] {
            ((try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? "")
                .split(separator: " ").compactMap { Int32($0) }
        }
        var expected: Set<Int32> = []
        #expect(eventually {
            let first = children(root)
            expected = Set(first + first.flatMap(children))
            return expected.count == 3  // sleep, sh, and that sh's sleep
        })
        defer {
            for pid in expected { kill(pid, SIGKILL) }
            Spawn.wait(root)
        }
        var tree = ProcessTree(root: root, includingLiveDescendants: true)
        #expect(tree.members == expected.union([root]))
        #expect(ProcessTree(root: root).members == [root])
        // At the first event the descendants are read again, adding to the first read: a
        // process gone meanwhile stays, as its exit event may still be on its way (it leaves
        // at that exit).
        let gone = try #require(children(root).first { children($0).isEmpty })  // the background sleep
        kill(gone, SIGKILL)
        #expect(eventually { !children(root).contains(gone) })
        tree.admit(ProcessEvent(detail: .comm(TaskID(pid: 1, tid: 1), name: "x"),
                                timestamp: EventTimestamp(monotonicNanoseconds: 1, unixNanoseconds: 1)))
        #expect(tree.members == expected.union([root]))
        tree.retire(ProcessEvent(detail: .exit(TaskID(pid: gone, tid: gone), waitStatus: 9, exitSignal: 17,
                                               parent: TaskID(pid: root, tid: root)),
                                 timestamp: EventTimestamp(monotonicNanoseconds: 2, unixNanoseconds: 2)))
        #expect(tree.members == expected.subtracting([gone]).union([root]))
    }

    @Test func aMemberWhoseExitNeverCameLeavesWhenAnOutsiderForksItsPid() {
        func at(_ time: UInt64, _ detail: ProcessEvent.Detail) -> ProcessEvent {
            ProcessEvent(detail: detail, timestamp: EventTimestamp(monotonicNanoseconds: time, unixNanoseconds: Int64(time)))
        }
        var tree = ProcessTree(root: 100)
        tree.admit(at(1, .fork(parent: TaskID(pid: 100, tid: 100), child: TaskID(pid: 101, tid: 101))))
        #expect(tree.members == [100, 101])
        // 101's exit was lost; its pid comes back as a child of an outsider: not a member.
        tree.admit(at(2, .fork(parent: TaskID(pid: 1, tid: 1), child: TaskID(pid: 101, tid: 101))))
        #expect(tree.members == [100])
        // A thread of a member, named with the member's outside parent, keeps the member in.
        tree.admit(at(3, .fork(parent: TaskID(pid: 1, tid: 1), child: TaskID(pid: 100, tid: 105))))
        #expect(tree.members == [100])
    }

    @Test func treeScopeFollowsDescendantsAndDaemonsButNotPidReuse() throws {
        let (kernel, watchers) = try running()
        let seen = Recorder<String>()
        watchers.on([.exec, .exit], scope: .tree(root: 100)) { seen.append("\($0.name) \($0.pid!)") }
        try watchers.start()
        kernel.deliver(
            KernelBytes.fork(parent: 100, child: 101, sequence: 1),   // child of the root
            KernelBytes.fork(parent: 101, child: 102, sequence: 2),   // grandchild (the daemon)
            KernelBytes.exit(101, status: 0, parent: 100, sequence: 3), // its parent exits: 102 re-parented to 1
            KernelBytes.exec(102, sequence: 4),                       // still in the tree
            KernelBytes.fork(parent: 1, child: 200, sequence: 5),     // unrelated
            KernelBytes.exec(200, sequence: 6),
            KernelBytes.fork(parent: 102, child: 103, childThread: 104, sequence: 7), // a thread of 103? no: process 103 thread 104
            KernelBytes.exit(102, status: 0, parent: 1, sequence: 8),
            KernelBytes.fork(parent: 1, child: 102, sequence: 9),     // pid 102 reused by an unrelated process
            KernelBytes.exec(102, sequence: 10))
        #expect(eventually { kernel.pendingIsEmpty })
        #expect(eventually { seen.count == 3 })
        usleep(20_000)
        #expect(seen.all == ["exit 101", "exec 102", "exit 102"])
        #expect(watchers.members(ofTree: 100) == [100, 103])
        watchers.stop()
    }

    @Test func failedExitWatchersSeeOnlyFailures() throws {
        let (kernel, watchers) = try running()
        let seen = Recorder<UInt32>()
        watchers.on(.failedExit) { event in
            if case .exit(_, let status, _, _) = event.detail { seen.append(status) }
        }
        try watchers.start()
        kernel.deliver(KernelBytes.exit(1, status: 0, sequence: 1), KernelBytes.exit(2, status: 768, sequence: 2),
                       KernelBytes.exit(3, status: 9, sequence: 3))
        #expect(eventually { seen.count == 2 })
        usleep(20_000)
        #expect(seen.all == [768, 9])
        watchers.stop()
    }

    @Test func runReturnsWhenItsTaskIsCancelled() async throws {
        let (kernel, watchers) = try running()
        watchers.on(.exec) { _ in }
        let task = Task { try await watchers.run() }
        #expect(await eventually { kernel.operations.count == 1 })
        task.cancel()
        try await task.value
        #expect(await eventually { kernel.isClosed })
        #expect(kernel.operations.map(\.op) == [1, 2])
    }
}
