import Synchronization
@testable import ProcWatch

/// A /proc that a test plays: processes appear, exec and vanish when the test says, and
/// every read is logged, so a test can check what was read and in which order.
final class ScriptedProcFS: ProcFileSystem {
    struct Process {
        var parent: Int32 = 1
        var name: String
        var commandLine: [String]
        var executable: String?
        var uid: UInt32 = 0
        /// The attributed cgroup path /proc shows (nil: unreadable).
        var cgroup: String?
    }

    private struct State {
        var processes: [Int32: Process] = [:]
        var reads: [String] = []
    }

    private let state = Mutex(State())

    /// Sets what /proc shows for `pid` (nil: gone).
    subscript(pid: Int32) -> Process? {
        get { state.withLock { $0.processes[pid] } }
        set { state.withLock { $0.processes[pid] = newValue } }
    }

    /// The reads so far, as `"cmdline 12"`, `"comm 12"`, `"exe 12"`, `"snapshot 12"`.
    var reads: [String] { state.withLock { $0.reads } }

    func readExecs(of pids: [Int32], executables: Bool) -> [ExecSnapshot?] {
        state.withLock { state in
            for pid in pids { state.reads.append("cmdline \(pid)") }
            return pids.map { pid -> ExecSnapshot? in
                state.reads.append("comm \(pid)")
                if executables { state.reads.append("exe \(pid)") }
                guard let process = state.processes[pid] else { return nil }
                return ExecSnapshot(commandLine: process.commandLine, name: process.name,
                                    executable: executables ? process.executable : nil, cgroup: process.cgroup)
            }
        }
    }

    func status(_ pid: Int32) -> (parent: Int32, startSinceBoot: UInt64)? {
        state.withLock { state in state.processes[pid].map { ($0.parent, 0) } }
    }

    func snapshot(_ pid: Int32) -> ProcessRecord? {
        state.withLock { state in
            state.reads.append("snapshot \(pid)")
            return state.processes[pid].map {
                var record = ProcessRecord(pid: pid, parentPID: $0.parent, name: $0.name, commandLine: $0.commandLine,
                                           executable: $0.executable, uid: $0.uid, effectiveUID: $0.uid, startNanoseconds: 0)
                if let cgroup = $0.cgroup { record.attribute(cgroup: cgroup) }
                return record
            }
        }
    }

    func cgroup(_ pid: Int32) -> String? { state.withLock { $0.processes[pid]?.cgroup } }

    func pids() -> [Int32] { state.withLock { Array($0.processes.keys) } }

    func threads(_ pid: Int32) -> [Int32] { state.withLock { $0.processes[pid] == nil ? [] : [pid] } }
}

/// Exit records that a test queues, with the overflow counters it sets.
final class ScriptedExitRecords: ExitRecordSource {
    private struct State {
        var queued: [TaskstatsRecord] = []
        var overflows = 0
        var lost = 0
        var closed = false
    }

    private let state = Mutex(State())

    /// Queues the record of a task that exited with `name`.
    func exited(_ tid: Int32, name: String, userMicroseconds: UInt64 = 0) {
        var record = GoldenTaskstats.version16.withUnsafeBytes { TaskstatsRecord(id: tid, isProcessTotal: false, bytes: $0) }
        record.name = name
        record.userMicroseconds = userMicroseconds
        state.withLock { $0.queued.append(record) }
    }

    /// Sets the counters as the listener would after an overflow.
    func overflowed(times: Int, lostRecords: Int) {
        state.withLock {
            $0.overflows = times
            $0.lost = lostRecords
        }
    }

    var isClosed: Bool { state.withLock { $0.closed } }

    /// Records queued and not read yet.
    var queued: Int { state.withLock { $0.queued.count } }

    func drain(_ body: (TaskstatsRecord) -> Void) -> Int {
        let records = state.withLock { state in defer { state.queued = [] }; return state.queued }
        records.forEach(body)
        return records.count
    }

    var overflowCount: Int { state.withLock { $0.overflows } }
    var lostRecords: Int { state.withLock { $0.lost } }
    func close() { state.withLock { $0.closed = true } }
}
