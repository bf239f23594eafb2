import GRDB
import ProcWatch

/// One row of the `events` table: the event contract's fields as columns.
struct EventRow {
    static let columns = [
        "recording", "process", "event", "time", "ktime_ns", "cpu", "seq", "pid", "tid", "ppid", "ptid", "thread",
        "ruid", "euid", "rgid", "egid", "sid", "tracer_pid", "tracer_tid", "comm", "cmdline", "exe", "uid",
        "exit_code", "exit_signal", "status", "duration_s", "count", "reason",
    ]

    static let insertSQL =
        "INSERT INTO events (\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))"

    private var values: [String: (any DatabaseValueConvertible)?] = [:]

    /// The row for `event`, with what the process table knew (`process`) and the row id of
    /// the subject's `processes` row.
    init(event: ProcessEvent, process: ProcessRecord?, processID: Int64?) {
        values["process"] = processID
        values["event"] = event.name
        values["time"] = StoreClock.rfc3339(unixNanoseconds: event.timestamp.unixNanoseconds)
        values["ktime_ns"] = Int64(clamping: event.timestamp.monotonicNanoseconds)
        if case .lost(let count, let reason, let cpu) = event.detail {
            values["cpu"] = cpu.map { Int64($0) }
            values["count"] = count
            values["reason"] = reason.rawValue
            return
        }
        values["cpu"] = Int64(event.cpu)
        values["seq"] = Int64(event.sequence)
        if let subject = event.subject {
            values["pid"] = subject.pid
            values["tid"] = subject.tid
        }
        switch event.detail {
        case .fork(let parent, let child):
            values["ppid"] = parent.pid
            values["ptid"] = parent.tid
            values["thread"] = child.isThread
        case .coredump(_, let parent):
            values["ppid"] = parent.pid
            values["ptid"] = parent.tid
        case .exit(let task, let waitStatus, let exitSignal, let parent):
            values["ppid"] = parent.pid
            values["ptid"] = parent.tid
            values["thread"] = task.isThread
            values["exit_code"] = Int64(waitStatus)
            values["exit_signal"] = exitSignal
            values["status"] = ExitStatus(waitStatus: waitStatus).json
            values["duration_s"] = process?.lifetimeSeconds
        default:
            if let parent = process?.parentPID, parent > 0 { values["ppid"] = parent }
        }
        switch event.detail {
        case .uid(_, let real, let effective):
            values["ruid"] = Int64(real)
            values["euid"] = Int64(effective)
        case .gid(_, let real, let effective):
            values["rgid"] = Int64(real)
            values["egid"] = Int64(effective)
        case .sid(let task):
            values["sid"] = task.pid
        case .ptrace(_, let tracer):
            values["tracer_pid"] = tracer.pid
            values["tracer_tid"] = tracer.tid
        case .comm(_, let name):
            values["comm"] = name
        default:
            break
        }
        if values["comm"] == nil, let name = process?.name, !name.isEmpty { values["comm"] = name }
        if let process {
            if !process.commandLine.isEmpty { values["cmdline"] = JSONText.strings(process.commandLine) }
            values["exe"] = process.executable
            values["uid"] = process.uid.map { Int64($0) }
        }
    }

    /// The statement arguments, in ``columns`` order.
    func arguments(recording: Int64) -> StatementArguments {
        var ordered: [(any DatabaseValueConvertible)?] = [recording]
        for column in Self.columns.dropFirst() { ordered.append(values[column] ?? nil) }
        return StatementArguments(ordered)
    }
}
