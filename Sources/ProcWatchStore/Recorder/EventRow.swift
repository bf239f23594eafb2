import GRDB
import ProcWatch

/// One row of the `events` table: the event contract's fields as columns.
struct EventRow {
    /// The columns, in statement order (`recording` first: it is bound at commit).
    enum Column: Int, CaseIterable {
        case recording, process, event, time, ktime_ns, cpu, seq, pid, tid, ppid, ptid, thread,
             ruid, euid, rgid, egid, sid, tracer_pid, tracer_tid, comm, cmdline, exe, uid,
             exit_code, exit_signal, status, duration_s, count, reason, what, data
    }

    static let insertSQL = "INSERT INTO events (\(Column.allCases.map { "\($0)" }.joined(separator: ", "))) VALUES ("
        + Column.allCases.map { _ in "?" }.joined(separator: ", ") + ")"

    /// One value per column (an array, not a dictionary: this runs for every event of a storm).
    private var row: [DatabaseValue] = []
    private static let width = Column.allCases.count

    private struct Values {
        var row: [DatabaseValue]
        subscript(_ name: Column) -> (any DatabaseValueConvertible)? {
            get { row[name.rawValue].isNull ? nil : row[name.rawValue] }
            set { row[name.rawValue] = newValue?.databaseValue ?? .null }
        }
    }

    /// The row for `event`, with what the process table knew (`process`) and the row id of
    /// the subject's `processes` row.
    init(event: ProcessEvent, process: ProcessRecord?, processID: Int64?) {
        var values = Values(row: [DatabaseValue](repeating: .null, count: Self.width))
        defer { row = values.row }
        values[.process] = processID
        values[.event] = event.name
        values[.time] = StoreClock.rfc3339(unixNanoseconds: event.timestamp.unixNanoseconds)
        values[.ktime_ns] = Int64(clamping: event.timestamp.monotonicNanoseconds)
        if case .lost(let count, let reason, let cpu) = event.detail {
            values[.cpu] = cpu.map { Int64($0) }
            values[.count] = count
            values[.reason] = reason.rawValue
            return
        }
        values[.cpu] = Int64(event.cpu)
        values[.seq] = Int64(event.sequence)
        if let subject = event.subject {
            values[.pid] = subject.pid
            values[.tid] = subject.tid
        }
        switch event.detail {
        case .fork(let parent, let child):
            values[.ppid] = parent.pid
            values[.ptid] = parent.tid
            values[.thread] = child.isThread
        case .coredump(_, let parent):
            values[.ppid] = parent.pid
            values[.ptid] = parent.tid
        case .exit(let task, let waitStatus, let exitSignal, let parent):
            values[.ppid] = parent.pid
            values[.ptid] = parent.tid
            values[.thread] = task.isThread
            values[.exit_code] = Int64(waitStatus)
            values[.exit_signal] = exitSignal
            values[.status] = ExitStatus(waitStatus: waitStatus).json
            values[.duration_s] = process?.lifetimeSeconds
        default:
            if let parent = process?.parentPID, parent > 0 { values[.ppid] = parent }
        }
        switch event.detail {
        case .uid(_, let real, let effective):
            values[.ruid] = Int64(real)
            values[.euid] = Int64(effective)
        case .gid(_, let real, let effective):
            values[.rgid] = Int64(real)
            values[.egid] = Int64(effective)
        case .sid(let task):
            values[.sid] = task.pid
        case .ptrace(_, let tracer):
            values[.tracer_pid] = tracer.pid
            values[.tracer_tid] = tracer.tid
        case .comm(_, let name):
            values[.comm] = name
        case .unknown(let what, let data):
            // As the live JSON has them: the kernel's `what` and the event's bytes after its header.
            values[.what] = Int64(what)
            values[.data] = JSONText.integers(data)
        default:
            break
        }
        if values[.comm] == nil, let name = process?.name, !name.isEmpty { values[.comm] = name }
        if let process {
            if !process.commandLine.isEmpty { values[.cmdline] = JSONText.strings(process.commandLine) }
            values[.exe] = process.executable
            values[.uid] = process.uid.map { Int64($0) }
        }
    }

    /// The values, in ``Column`` order.
    func values(recording: Int64) -> [DatabaseValue] {
        var ordered = row
        ordered[Column.recording.rawValue] = recording.databaseValue
        return ordered
    }
}
