import Testing
@testable import ProcWatch

/// Every event kind decoded from real kernel datagrams (Fixtures/GoldenDatagrams.swift).
@Suite("Decoding real kernel datagrams")
struct GoldenDecodingTests {
    private func single(_ datagram: [UInt8]) throws -> ProcessEvent {
        let messages = ProcEventDecoder.decode(datagram)
        try #require(messages.count == 1)
        guard case .event(let event) = messages[0] else {
            Issue.record("expected an event, got \(messages[0])")
            throw CancellationError()
        }
        return event
    }

    private func stamp(_ nanoseconds: UInt64) -> EventTimestamp {
        EventTimestamp(monotonicNanoseconds: nanoseconds, unixNanoseconds: Int64(nanoseconds))
    }

    @Test func forkOfAProcess() throws {
        let event = try single(GoldenDatagrams.forkProcess)
        #expect(event == ProcessEvent(
            detail: .fork(parent: TaskID(pid: 2328, tid: 2328), child: TaskID(pid: 2329, tid: 2329)),
            timestamp: stamp(203_326_806_838), cpu: 1, sequence: 3))
        #expect(event.subject?.isThread == false)
    }

    @Test func forkOfAThreadNamesTheProcessParent() throws {
        let event = try single(GoldenDatagrams.forkThread)
        #expect(event.detail == .fork(parent: TaskID(pid: 2287, tid: 2287), child: TaskID(pid: 2328, tid: 2330)))
        #expect(event.subject?.isThread == true)
        #expect(event.sequence == 5)
    }

    @Test func exec() throws {
        let event = try single(GoldenDatagrams.exec)
        #expect(event == ProcessEvent(detail: .exec(TaskID(pid: 2331, tid: 2331)),
                                      timestamp: stamp(203_469_552_862), cpu: 1, sequence: 8))
    }

    @Test func uidAndGid() throws {
        #expect(try single(GoldenDatagrams.uid).detail == .uid(TaskID(pid: 2332, tid: 2332), real: 65534, effective: 65534))
        #expect(try single(GoldenDatagrams.gid).detail == .gid(TaskID(pid: 2332, tid: 2332), real: 65534, effective: 65534))
        #expect(try single(GoldenDatagrams.gid).sequence == 11)
    }

    @Test func sid() throws {
        #expect(try single(GoldenDatagrams.sid).detail == .sid(TaskID(pid: 2333, tid: 2333)))
    }

    @Test func ptraceAttachAndDetach() throws {
        #expect(try single(GoldenDatagrams.ptraceAttach).detail
            == .ptrace(TaskID(pid: 2334, tid: 2334), tracer: TaskID(pid: 2328, tid: 2328)))
        #expect(try single(GoldenDatagrams.ptraceDetach).detail
            == .ptrace(TaskID(pid: 2334, tid: 2334), tracer: TaskID(pid: 0, tid: 0)))
    }

    @Test func comm() throws {
        #expect(try single(GoldenDatagrams.comm).detail == .comm(TaskID(pid: 2335, tid: 2335), name: "goldcomm"))
    }

    @Test func coredump() throws {
        let event = try single(GoldenDatagrams.coredump)
        #expect(event.detail == .coredump(TaskID(pid: 2336, tid: 2336), parent: TaskID(pid: 2328, tid: 2328)))
        #expect(event.timestamp.monotonicNanoseconds == 203_904_028_258)
    }

    @Test func exits() throws {
        let exit3 = try single(GoldenDatagrams.exitCode3)
        #expect(exit3.detail == .exit(TaskID(pid: 2329, tid: 2329), waitStatus: 768, exitSignal: 17,
                                      parent: TaskID(pid: 2328, tid: 2328)))
        #expect(exit3.exitStatus == .exited(3))

        let killed = try single(GoldenDatagrams.exitSIGKILL)
        #expect(killed.exitStatus == .signaled(9, core: false))
        #expect(killed.exitStatus?.description == "killed by SIGKILL")

        let segv = try single(GoldenDatagrams.exitSIGSEGV)
        #expect(segv.exitStatus == .signaled(11, core: false))

        let core = try single(GoldenDatagrams.exitSIGSEGVCore)
        #expect(core.detail == .exit(TaskID(pid: 2473, tid: 2473), waitStatus: 139, exitSignal: 17,
                                     parent: TaskID(pid: 2472, tid: 2472)))
        #expect(core.exitStatus == .signaled(11, core: true))
        #expect(core.exitStatus?.description == "SIGSEGV (core dumped)")

        let thread = try single(GoldenDatagrams.exitThread)
        #expect(thread.detail == .exit(TaskID(pid: 2328, tid: 2330), waitStatus: 0, exitSignal: -1,
                                       parent: TaskID(pid: 0, tid: 0)))
    }

    @Test func listenAcknowledgement() {
        #expect(ProcEventDecoder.decode(GoldenDatagrams.listenAck)
            == [.acknowledgement(error: 0, acknowledgement: 0x5001, cpu: 1, sequence: 0)])
    }

    @Test func wallClockIsKernelTimePlusOffset() {
        let messages = ProcEventDecoder.decode(GoldenDatagrams.exec, unixOffsetNanoseconds: 1_700_000_000_000_000_000)
        guard case .event(let event) = messages.first else { Issue.record("no event"); return }
        #expect(event.timestamp.unixNanoseconds == 1_700_000_000_000_000_000 + 203_469_552_862)
    }
}
