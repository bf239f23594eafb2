import Glibc
import Testing
@testable import ProcWatch

/// The process table driven by scripted events (no /proc seeding, pids that do not exist).
@Suite("Process table")
struct ProcessTableTests {
    func event(_ detail: ProcessEvent.Detail, at nanoseconds: UInt64) -> ProcessEvent {
        ProcessEvent(detail: detail, timestamp: EventTimestamp(monotonicNanoseconds: nanoseconds, unixNanoseconds: Int64(nanoseconds)))
    }

    // Pids far above pid_max (32768 here), so /proc never has them.
    let parent: Int32 = 4_000_001
    let child: Int32 = 4_000_002

    @Test func forkedChildInheritsThenExitGivesLifetimeAndIsRemoved() {
        let table = ProcessTable(seed: false)
        _ = table.apply(event(.comm(TaskID(pid: parent, tid: parent), name: "make"), at: 1))
        _ = table.apply(event(.uid(TaskID(pid: parent, tid: parent), real: 1000, effective: 1000), at: 2))
        let forked = table.apply(event(.fork(parent: TaskID(pid: parent, tid: parent), child: TaskID(pid: child, tid: child)), at: 1_000))
        var expected = ProcessRecord(pid: child, parentPID: parent, name: "make", uid: 1000, effectiveUID: 1000, startNanoseconds: 1_000)
        expected.key = ProcessKey(pid: child, startNanoseconds: 1_000)
        #expect(forked == expected)
        #expect(table.ancestors(of: child).map(\.pid) == [parent])
        let exited = table.apply(event(.exit(TaskID(pid: child, tid: child), waitStatus: 0, exitSignal: 17,
                                             parent: TaskID(pid: parent, tid: parent)), at: 2_501_000))
        #expect(exited?.lifetimeSeconds == 0.0025)
        #expect(table[child] != nil)  // still there while the exit is delivered
        table.retire(event(.exit(TaskID(pid: child, tid: child), waitStatus: 0, exitSignal: 17,
                                 parent: TaskID(pid: parent, tid: parent)), at: 2_501_000))
        #expect(table[child] == nil)
    }

    /// Processes already gone from /proc (exited in the batch being handled) stay known
    /// while their events are delivered: the first event does not sweep the table.
    @Test func theFirstEventSweepsNothing() {
        let table = ProcessTable(seed: false)
        let now = Clocks.monotonicNanoseconds()
        let task = TaskID(pid: parent, tid: parent)
        _ = table.apply(event(.comm(task, name: "gone"), at: now))
        table.retire(event(.comm(task, name: "gone"), at: now))
        let forked = table.apply(event(.fork(parent: task, child: TaskID(pid: child, tid: child)), at: now + 1))
        #expect(forked?.name == "gone")
        #expect(table[parent]?.name == "gone")
    }

    @Test func aForkOfAReusedPidIsANewProcess() {
        let table = ProcessTable(seed: false)
        _ = table.apply(event(.comm(TaskID(pid: parent, tid: parent), name: "old"), at: 1))
        _ = table.apply(event(.fork(parent: TaskID(pid: parent, tid: parent), child: TaskID(pid: child, tid: child)), at: 10))
        _ = table.apply(event(.comm(TaskID(pid: child, tid: child), name: "first"), at: 11))
        // Its exit was lost; the pid comes back as the child of another process.
        let other: Int32 = 4_000_003
        _ = table.apply(event(.comm(TaskID(pid: other, tid: other), name: "other"), at: 12))
        let reused = table.apply(event(.fork(parent: TaskID(pid: other, tid: other), child: TaskID(pid: child, tid: child)), at: 20))
        #expect(reused?.name == "other")
        #expect(reused?.parentPID == other)
        #expect(reused?.startNanoseconds == 20)
    }

    @Test func effectiveUIDIsInheritedAtForkAndSetByUIDEvents() {
        let table = ProcessTable(seed: false)
        // A set-user-ID root program run by uid 1000: real 1000, effective 0.
        _ = table.apply(event(.uid(TaskID(pid: parent, tid: parent), real: 1000, effective: 0), at: 1))
        let forked = table.apply(event(.fork(parent: TaskID(pid: parent, tid: parent), child: TaskID(pid: child, tid: child)), at: 2))
        #expect(forked?.uid == 1000)
        #expect(forked?.effectiveUID == 0)
        // The child drops its privilege (setuid(1000) sends real and effective).
        let dropped = table.apply(event(.uid(TaskID(pid: child, tid: child), real: 1000, effective: 1000), at: 3))
        #expect(dropped?.uid == 1000)
        #expect(dropped?.effectiveUID == 1000)
        #expect(table[parent]?.effectiveUID == 0)
    }

    @Test func uidsComeFromTheFirstTwoFieldsOfTheStatusUidLine() {
        let status = "Name:\tpasswd\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n"
        let ids = ProcFS.uids(status: status)
        #expect(ids?.real == 1000)
        #expect(ids?.effective == 0)
        #expect(ProcFS.uids(status: "Name:\tx\n") == nil)
    }

    @Test func aForkQueuedAfterItsChildsExecKeepsTheExec() {
        // The child ran and exec'd on the other CPU before the parent queued its fork event.
        let table = ProcessTable(seed: false)
        _ = table.apply(event(.comm(TaskID(pid: parent, tid: parent), name: "bash"), at: 1))
        _ = table.apply(event(.comm(TaskID(pid: child, tid: child), name: "true"), at: 30))
        let forked = table.apply(event(.fork(parent: TaskID(pid: parent, tid: parent), child: TaskID(pid: child, tid: child)), at: 20))
        #expect(forked?.name == "true")
        #expect(forked?.parentPID == parent)
        #expect(forked?.startNanoseconds == 20)
    }

    @Test func threadsDoNotCreateOrRenameProcesses() {
        let table = ProcessTable(seed: false)
        _ = table.apply(event(.comm(TaskID(pid: parent, tid: parent), name: "server"), at: 1))
        _ = table.apply(event(.fork(parent: TaskID(pid: 1, tid: 1), child: TaskID(pid: parent, tid: child)), at: 2))
        _ = table.apply(event(.comm(TaskID(pid: parent, tid: child), name: "worker-1"), at: 3))
        _ = table.apply(event(.exit(TaskID(pid: parent, tid: child), waitStatus: 0, exitSignal: -1, parent: TaskID(pid: 0, tid: 0)), at: 4))
        table.retire(event(.exit(TaskID(pid: parent, tid: child), waitStatus: 0, exitSignal: -1, parent: TaskID(pid: 0, tid: 0)), at: 4))
        #expect(table[parent]?.name == "server")
        #expect(table[parent]?.endNanoseconds == nil)
        #expect(table[child] == nil)
    }

    @Test func execOfAVanishedProcessDropsThePreExecName() {
        let table = ProcessTable(seed: false)
        _ = table.apply(event(.comm(TaskID(pid: parent, tid: parent), name: "bash"), at: 1))
        _ = table.apply(event(.fork(parent: TaskID(pid: parent, tid: parent), child: TaskID(pid: child, tid: child)), at: 2))
        let execed = table.apply(event(.exec(TaskID(pid: child, tid: child)), at: 3))
        #expect(execed?.name == "")  // /proc had nothing: unknown, never the parent's "bash"
        #expect(execed?.commandLine == [])
    }

    @Test func lostEventsTriggerASweepOfDeadEntries() {
        let table = ProcessTable(seed: false)
        for offset in 0..<100 {
            let pid = parent + Int32(offset)
            _ = table.apply(event(.comm(TaskID(pid: pid, tid: pid), name: "ghost"), at: 1))
        }
        #expect(table.count == 100)
        let lost = event(.lost(count: 5, reason: .sequenceGap, cpu: 0), at: 2)
        _ = table.apply(lost)
        table.retire(lost)
        #expect(table.count == 0)  // none of them exists in /proc
    }

    @Test func seedingReadsThisProcess() {
        let table = ProcessTable()
        let me = table[getpid()]
        #expect(me?.commandLine.first == CommandLine.arguments.first)
        #expect(me?.parentPID == getppid())
        #expect(me?.uid == getuid())
        #expect(me?.effectiveUID == geteuid())
        #expect((me?.startNanoseconds ?? 0) > 0)
        #expect(table.count > 5)
    }
}
