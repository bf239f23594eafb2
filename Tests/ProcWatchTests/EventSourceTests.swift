import Glibc
import Netlink
import Synchronization
import Testing
@testable import ProcWatch

/// The event source against a scripted kernel: handshake, loss, errors, release.
@Suite("Event source against a scripted kernel")
struct EventSourceTests {
    func makeSource(_ kernel: ScriptedKernel, filter: Bool = false, timeout: Duration = .seconds(1)) -> ProcessEventSource {
        ProcessEventSource(
            configuration: .init(acknowledgementTimeout: timeout, usesKernelFilter: filter),
            transport: { kernel })
    }

    func details(_ recorder: Recorder<ProcessEvent>) -> [ProcessEvent.Detail] { recorder.all.map(\.detail) }

    @Test func listenDeliversEventsThenIgnoreOnStop() throws {
        let kernel = ScriptedKernel()
        let watchers = ProcessWatchers(source: makeSource(kernel))
        let seen = Recorder<ProcessEvent>()
        watchers.on(.all) { seen.append($0) }
        try watchers.start()
        kernel.deliver(KernelBytes.fork(parent: 10, child: 11, sequence: 1),
                       KernelBytes.exec(11, sequence: 2),
                       KernelBytes.exit(11, status: 768, parent: 10, sequence: 3))
        #expect(eventually { seen.count == 3 })
        #expect(details(seen) == [
            .fork(parent: TaskID(pid: 10, tid: 10), child: TaskID(pid: 11, tid: 11)),
            .exec(TaskID(pid: 11, tid: 11)),
            .exit(TaskID(pid: 11, tid: 11), waitStatus: 768, exitSignal: 17, parent: TaskID(pid: 10, tid: 10)),
        ])
        watchers.stop()
        #expect(kernel.operations.map(\.op) == [1, 2])
        #expect(kernel.isClosed)
    }

    @Test func sequenceGapIsReportedPerCPU() throws {
        let kernel = ScriptedKernel()
        let watchers = ProcessWatchers(source: makeSource(kernel))
        let seen = Recorder<ProcessEvent>()
        watchers.on(.exec) { seen.append($0) }
        try watchers.start()
        kernel.deliver(KernelBytes.exec(1, cpu: 0, sequence: 10), KernelBytes.exec(2, cpu: 1, sequence: 500),
                       KernelBytes.exec(3, cpu: 0, sequence: 14), KernelBytes.exec(4, cpu: 1, sequence: 501))
        #expect(eventually { seen.count == 5 })
        #expect(details(seen) == [
            .exec(TaskID(pid: 1, tid: 1)), .exec(TaskID(pid: 2, tid: 2)),
            .lost(count: 3, reason: .sequenceGap, cpu: 0),
            .exec(TaskID(pid: 3, tid: 3)), .exec(TaskID(pid: 4, tid: 4)),
        ])
        watchers.stop()
    }

    @Test func unfilteredOverflowIsCountedByTheGapsThatFollow() throws {
        let kernel = ScriptedKernel()
        let watchers = ProcessWatchers(source: makeSource(kernel))
        let seen = Recorder<ProcessEvent>()
        watchers.on(.exec) { seen.append($0) }
        try watchers.start()
        kernel.deliver(KernelBytes.exec(1, sequence: 1))
        kernel.overrun(dropsNow: 7)
        kernel.deliver(KernelBytes.exec(2, sequence: 9))    // 7 missing
        kernel.overrun(dropsNow: 12)
        kernel.deliver(KernelBytes.exec(3, sequence: 15))   // 5 missing
        #expect(eventually { seen.count == 7 })
        #expect(details(seen) == [
            .exec(TaskID(pid: 1, tid: 1)),
            .lost(count: nil, reason: .overflow, cpu: nil),
            .lost(count: 7, reason: .sequenceGap, cpu: 0),
            .exec(TaskID(pid: 2, tid: 2)),
            .lost(count: nil, reason: .overflow, cpu: nil),
            .lost(count: 5, reason: .sequenceGap, cpu: 0),
            .exec(TaskID(pid: 3, tid: 3)),
        ])
        watchers.stop()
    }

    @Test func filteredOverflowIsCountedByTheDropCounter() throws {
        let kernel = ScriptedKernel()
        let watchers = ProcessWatchers(source: makeSource(kernel, filter: true))
        let seen = Recorder<ProcessEvent>()
        watchers.on(.exec) { seen.append($0) }
        try watchers.start()
        kernel.deliver(KernelBytes.exec(1, sequence: 1))
        kernel.overrun(dropsNow: 7)
        kernel.deliver(KernelBytes.exec(2, sequence: 30))   // gaps are normal under a filter
        kernel.overrun(dropsNow: 12)
        #expect(eventually { seen.count == 4 })
        #expect(details(seen) == [
            .exec(TaskID(pid: 1, tid: 1)),
            .lost(count: 7, reason: .overflow, cpu: nil),
            .exec(TaskID(pid: 2, tid: 2)),
            .lost(count: 5, reason: .overflow, cpu: nil),
        ])
        watchers.stop()
    }

    @Test func eventsRightAfterTheAckInTheSameBatchAreDelivered() throws {
        final class EagerKernel: NetlinkTransport {
            let inner = ScriptedKernel(acknowledgesListen: false)
            func send(_ message: [UInt8]) throws(NetlinkError) {
                try inner.send(message)
                let ack = message.withUnsafeBytes { $0.read(UInt32.self, at: 28)! }
                guard message.withUnsafeBytes({ $0.read(UInt32.self, at: 36)! }) == 1 else { return }
                // The ack and the next events arrive in one recvmmsg batch.
                inner.deliver(KernelBytes.exec(1, sequence: 1), KernelBytes.ack(acknowledgement: ack &+ 1, cpu: 0, sequence: 2),
                              KernelBytes.exec(3, sequence: 3), KernelBytes.exec(4, sequence: 4))
            }
            func receive(into batch: DatagramBatch, timeout: Duration?) throws(NetlinkError) -> ReceiveOutcome {
                try inner.receive(into: batch, timeout: timeout)
            }
            func wake() { inner.wake() }
            func droppedMessages() -> UInt32? { 0 }
            func close() { inner.close() }
        }
        let transport = EagerKernel()
        let watchers = ProcessWatchers(source: ProcessEventSource(configuration: .init(usesKernelFilter: false), transport: { transport }))
        let seen = Recorder<ProcessEvent>()
        watchers.on(.exec) { seen.append($0) }
        try watchers.start()
        #expect(eventually { seen.count == 2 })
        #expect(details(seen) == [.exec(TaskID(pid: 3, tid: 3)), .exec(TaskID(pid: 4, tid: 4))])
        watchers.stop()
    }

    @Test func aGapSeenOnAnAckIsReported() throws {
        let kernel = ScriptedKernel()
        let watchers = ProcessWatchers(source: makeSource(kernel))
        let seen = Recorder<ProcessEvent>()
        watchers.on(.exec) { seen.append($0) }
        try watchers.start()
        kernel.deliver(KernelBytes.exec(1, cpu: 1, sequence: 10),
                       KernelBytes.ack(acknowledgement: 77, cpu: 1, sequence: 13))
        #expect(eventually { seen.count == 2 })
        #expect(details(seen) == [.exec(TaskID(pid: 1, tid: 1)), .lost(count: 2, reason: .sequenceGap, cpu: 1)])
        watchers.stop()
    }

    @Test func wideningTheFilterCountsGapsOnlyAfterItsAck() throws {
        let kernel = ScriptedKernel()
        let source = makeSource(kernel, filter: true)
        let execs = ProcessWatchers(source: source)
        let seen = Recorder<ProcessEvent>()
        execs.on(.all) { seen.append($0) }
        let narrow = ProcessWatchers(source: source)
        narrow.on(.exec) { _ in }
        try narrow.start()
        try execs.start()  // widens to everything
        let widening = try #require(kernel.sent.last)
        let ack = widening.withUnsafeBytes { $0.read(UInt32.self, at: 28)! }
        #expect(ack != 0)
        kernel.deliver(KernelBytes.exec(1, sequence: 5),    // queued under the old filter
                       KernelBytes.exec(2, sequence: 9),    // a gap that is not a loss
                       KernelBytes.ack(acknowledgement: ack &+ 1, cpu: 0, sequence: 10),
                       KernelBytes.exec(3, sequence: 11),
                       KernelBytes.exec(4, sequence: 13))   // a real loss of one
        #expect(eventually { seen.count == 5 })
        #expect(details(seen) == [
            .exec(TaskID(pid: 1, tid: 1)), .exec(TaskID(pid: 2, tid: 2)), .exec(TaskID(pid: 3, tid: 3)),
            .lost(count: 1, reason: .sequenceGap, cpu: 0), .exec(TaskID(pid: 4, tid: 4)),
        ])
        execs.stop()
        narrow.stop()
    }

    @Test func aStoppedConsumerGetsNothingMoreAndRestartsCleanly() throws {
        let kernel = ScriptedKernel()
        let source = makeSource(kernel)
        let keeper = ProcessWatchers(source: source)
        keeper.on(.exec) { _ in }
        try keeper.start()
        let watchers = ProcessWatchers(source: source)
        let seen = Recorder<Int32>()
        watchers.on(.exec) { seen.append($0.pid!) }
        try watchers.start()
        kernel.deliver(KernelBytes.exec(1, sequence: 1))
        #expect(eventually { seen.count == 1 })
        watchers.stop()
        kernel.deliver(KernelBytes.exec(2, sequence: 2))
        #expect(eventually { kernel.pendingIsEmpty })
        try watchers.start()
        kernel.deliver(KernelBytes.exec(3, sequence: 3))
        #expect(eventually { seen.count == 2 })
        usleep(20_000)
        #expect(seen.all == [1, 3])
        keeper.stop()
        watchers.stop()
    }

    @Test func overflowWithoutADropCounterHasNoCount() throws {
        let kernel = ScriptedKernel()
        let watchers = ProcessWatchers(source: makeSource(kernel))
        let seen = Recorder<ProcessEvent>()
        watchers.on(.exec) { seen.append($0) }
        try watchers.start()
        kernel.overrun(dropsNow: nil)
        #expect(eventually { seen.count == 1 })
        #expect(details(seen) == [.lost(count: nil, reason: .overflow, cpu: nil)])
        watchers.stop()
    }

    @Test func malformedMessagesAreLostNotDropped() throws {
        let kernel = ScriptedKernel()
        let watchers = ProcessWatchers(source: makeSource(kernel))
        let seen = Recorder<ProcessEvent>()
        watchers.on(.fork) { seen.append($0) }
        try watchers.start()
        kernel.deliver(Array(GoldenDatagrams.exec.prefix(50)))
        #expect(eventually { seen.count == 1 })
        #expect(details(seen) == [.lost(count: 1, reason: .malformed, cpu: nil)])
        watchers.stop()
    }

    @Test func otherProgramsAcksAreSkippedButKeepTheSequence() throws {
        let kernel = ScriptedKernel()
        let watchers = ProcessWatchers(source: makeSource(kernel))
        let seen = Recorder<ProcessEvent>()
        watchers.on(.all) { seen.append($0) }
        try watchers.start()
        kernel.deliver(KernelBytes.exec(1, sequence: 1),
                       KernelBytes.ack(acknowledgement: 99, cpu: 0, sequence: 2),
                       KernelBytes.exec(2, sequence: 3))
        #expect(eventually { seen.count == 2 })
        #expect(details(seen) == [.exec(TaskID(pid: 1, tid: 1)), .exec(TaskID(pid: 2, tid: 2))])
        watchers.stop()
    }

    @Test func silentKernelMeansAnotherNamespace() {
        let kernel = ScriptedKernel(acknowledgesListen: false)
        let watchers = ProcessWatchers(source: makeSource(kernel, timeout: .milliseconds(200)))
        #expect(throws: ProcWatchError.subscriptionIgnored(timeout: .milliseconds(200))) { try watchers.start() }
        #expect(kernel.operations.map(\.op) == [1, 2])  // gave up with an IGNORE
        #expect(kernel.isClosed)
        #expect(ProcWatchError.subscriptionIgnored(timeout: .milliseconds(200)).description.contains("namespace"))
    }

    @Test func refusedListenMapsToClearErrors() {
        let refused = ScriptedKernel(sendError: NetlinkError(call: "sendto", errno: .connectionRefused))
        #expect(throws: ProcWatchError.otherNetworkNamespace) { try ProcessWatchers(source: makeSource(refused)).start() }
        let denied = ScriptedKernel(sendError: NetlinkError(call: "sendto", errno: .notPermitted))
        #expect(throws: ProcWatchError.permissionDenied(operation: "sendto on the proc connector socket", capability: "CAP_NET_ADMIN")) {
            try ProcessWatchers(source: makeSource(denied)).start()
        }
    }

    @Test func ackWithAnErrorIsARejection() {
        final class Rejecting: NetlinkTransport {
            let inner = ScriptedKernel(acknowledgesListen: false)
            func send(_ message: [UInt8]) throws(NetlinkError) {
                try inner.send(message)
                let ack = message.withUnsafeBytes { $0.read(UInt32.self, at: 28)! }
                inner.deliver(KernelBytes.ack(acknowledgement: ack &+ 1, cpu: 0, sequence: 0, error: 22))
            }
            func receive(into batch: DatagramBatch, timeout: Duration?) throws(NetlinkError) -> ReceiveOutcome {
                try inner.receive(into: batch, timeout: timeout)
            }
            func wake() { inner.wake() }
            func droppedMessages() -> UInt32? { nil }
            func close() { inner.close() }
        }
        let transport = Rejecting()
        let source = ProcessEventSource(configuration: .init(), transport: { transport })
        #expect(throws: ProcWatchError.subscriptionRejected(errno: 22)) { try ProcessWatchers(source: source).start() }
    }

    @Test func receiveFailureEndsRunWithTheErrorAndReleases() async throws {
        let kernel = ScriptedKernel()
        let watchers = ProcessWatchers(source: makeSource(kernel))
        watchers.on(.exec) { _ in }
        try watchers.start()
        kernel.fail(NetlinkError(call: "recvmmsg", errno: .badFileDescriptor))
        await #expect(throws: ProcWatchError.system(call: "recvmmsg", errno: 9)) { try await watchers.run() }
        #expect(await eventually { kernel.isClosed })
        #expect(kernel.operations.map(\.op) == [1, 2])
    }

    @Test func receiveFailureDuringTheHandshakeReleases() {
        let kernel = ScriptedKernel(acknowledgesListen: false)
        kernel.fail(NetlinkError(call: "recvmmsg", errno: .badFileDescriptor))
        #expect(throws: ProcWatchError.system(call: "recvmmsg", errno: 9)) { try ProcessWatchers(source: makeSource(kernel)).start() }
        #expect(kernel.operations.map(\.op) == [1, 2])
        #expect(kernel.isClosed)
    }

    @Test func kernelFilterIsTheUnionOfWhatConsumersWant() throws {
        let kernel = ScriptedKernel()
        let source = makeSource(kernel, filter: true)
        let execs = ProcessWatchers(source: source)
        execs.on(.exec) { _ in }
        try execs.start()
        #expect(source.kernelFilter == .exec)
        #expect(kernel.operations.last?.mask == 0x2)

        let failures = ProcessWatchers(source: source)
        failures.on(.failedExit) { _ in }
        try failures.start()
        #expect(source.kernelFilter == [.exec, .failedExit])
        #expect(kernel.operations.last?.mask == 0x2000_0002)

        let everything = ProcessWatchers(source: source)
        everything.on(.all) { _ in }
        try everything.start()
        #expect(source.kernelFilter == nil)
        #expect(kernel.operations.last?.mask == 0xE000_03C7)  // PROC_EVENT_ALL

        everything.stop()
        #expect(source.kernelFilter == [.exec, .failedExit])
        execs.stop()
        failures.stop()
        #expect(!source.isListening)
        #expect(kernel.operations.last?.op == 2)
    }

    @Test func exitAndFailedExitTogetherAskForEveryExit() {
        let source = makeSource(ScriptedKernel(), filter: true)
        let subscriber = EventSubscriber(id: 1, kinds: [.exit, .failedExit], deliver: { _ in }, finish: { _ in })
        #expect(source.kernelMask(for: [subscriber]) == 0x8000_0000)
        let unknown = EventSubscriber(id: 2, kinds: [.exec, .unknown], deliver: { _ in }, finish: { _ in })
        #expect(source.kernelMask(for: [unknown]) == ProcessEventSource.allEvents)
    }

    @Test func consumersShareOneSubscription() async throws {
        let kernel = ScriptedKernel()
        let opens = Atomic<Int>(0)
        let source = ProcessEventSource(configuration: .init(usesKernelFilter: false), transport: {
            opens.add(1, ordering: .relaxed)
            return kernel
        })
        let first = ProcessWatchers(source: source)
        let second = ProcessWatchers(source: source)
        let seenFirst = Recorder<ProcessEvent>()
        let seenSecond = Recorder<ProcessEvent>()
        first.on(.exec) { seenFirst.append($0) }
        second.on(.exec) { seenSecond.append($0) }
        try first.start()
        try second.start()
        var stream = try ProcessEvents(.exec, source: source).subscribe()
        kernel.deliver(KernelBytes.exec(42, sequence: 1))
        let streamed = try await stream.next()
        #expect(streamed?.detail == .exec(TaskID(pid: 42, tid: 42)))
        #expect(await eventually { seenFirst.count == 1 && seenSecond.count == 1 })
        #expect(opens.load(ordering: .relaxed) == 1)
        #expect(kernel.operations.map(\.op) == [1])
        first.stop()
        second.stop()
        #expect(source.isListening)  // the stream still holds it
    }

    @Test func slowStreamConsumerGetsABacklogReport() async throws {
        let kernel = ScriptedKernel()
        let source = makeSource(kernel)
        var stream = try ProcessEvents(.exec, source: source, bufferLimit: 2).subscribe()
        kernel.deliver(KernelBytes.exec(1, sequence: 1))
        #expect(try await stream.next()?.detail == .exec(TaskID(pid: 1, tid: 1)))
        kernel.deliver(KernelBytes.exec(2, sequence: 2), KernelBytes.exec(3, sequence: 3), KernelBytes.exec(4, sequence: 4),
                       KernelBytes.exec(5, sequence: 5), KernelBytes.exec(6, sequence: 6))
        #expect(await eventually { kernel.pendingIsEmpty })
        usleep(50_000)
        var rest: [ProcessEvent.Detail] = []
        for _ in 0..<2 { rest.append(try await stream.next()!.detail) }
        kernel.deliver(KernelBytes.exec(7, sequence: 7))
        for _ in 0..<2 { rest.append(try await stream.next()!.detail) }
        #expect(rest == [.exec(TaskID(pid: 2, tid: 2)), .exec(TaskID(pid: 3, tid: 3)),
                         .lost(count: 3, reason: .backlog, cpu: nil), .exec(TaskID(pid: 7, tid: 7))])
    }

    @Test func cancellingTheStreamReleasesTheKernel() async throws {
        let kernel = ScriptedKernel()
        let source = makeSource(kernel)
        let task = Task {
            for try await _ in ProcessEvents(.all, source: source) {}
        }
        #expect(await eventually { source.isListening })
        task.cancel()
        _ = await task.result
        #expect(await eventually { kernel.isClosed })
        #expect(kernel.operations.map(\.op) == [1, 2])
    }
}
