/// A field of the event contract (`docs/events.md`): a member of a `procwatch --json` line
/// and a column of a recording's `events` table.
///
/// ``ProcessEvent/writeContractFields(process:ancestors:to:)`` is the one place that decides
/// which fields an event has and what they hold; the front ends only choose how to write
/// them. Adding a field is fine; renaming one or changing its meaning breaks the contract.
public enum EventField: Int, CaseIterable, Sendable {
    /// `event`: the contract name (`fork` … `exit`, `exec_failed`, `unknown` or `lost`).
    case event
    /// `time`: RFC 3339 UTC with microseconds, from the kernel timestamp.
    case time
    /// `ktime_ns`: the kernel timestamp (CLOCK_MONOTONIC nanoseconds).
    case kernelTime
    /// `cpu`: the CPU that emitted the event (for `lost`: the CPU of a sequence gap).
    case cpu
    /// `seq`: that CPU's sequence number for the event.
    case sequence
    /// `pid`: process id of the subject (for `fork`: the child).
    case pid
    /// `tid`: thread id of the subject.
    case tid
    /// `process_key`: the subject process's identity, which never repeats (``ProcessKey``):
    /// the same on every event of one process, different for a process that reuses its pid.
    case processKey
    /// `ppid`: parent process id.
    case parentPID
    /// `ptid`: parent thread id, as the kernel sent it.
    case parentTID
    /// `thread`: whether a thread, not a process, was created or exited.
    case thread
    /// `ruid`: new real user id (`uid` events).
    case realUID
    /// `euid`: new effective user id (`uid` events); an exec's effective user id, taken in
    /// the kernel (`exec` events with kernel details).
    case effectiveUID
    /// `rgid`: new real group id (`gid` events).
    case realGID
    /// `egid`: new effective group id (`gid` events); an exec's effective group id, taken in
    /// the kernel (`exec` events with kernel details).
    case effectiveGID
    /// `sid`: new session id (`sid` events).
    case session
    /// `tracer_pid`: the tracer's process id, 0 on detach (`ptrace` events).
    case tracerPID
    /// `tracer_tid`: the tracer's thread id, 0 on detach (`ptrace` events).
    case tracerTID
    /// `comm`: the process name at the event (for `comm` events: the new name).
    case comm
    /// `cmdline`: the command line, when known (an `exec` with kernel details: the one taken
    /// in the kernel; `exec_failed`: the arguments the failed call was given).
    case commandLine
    /// `cmdline_cut`: `true` when `cmdline` was longer than the kernel-side watchers copy
    /// and was cut (absent otherwise).
    case commandLineCut
    /// `exe`: the executable's path, when known (an `exec` with kernel details: the path
    /// /proc/PID/exe gives, named in the kernel at the exec).
    case executable
    /// `exe_unresolved`: `true` when an exec's `exe` could not be named in the kernel as
    /// /proc/PID/exe names it and is the path it was executed by instead (absent otherwise).
    case executableUnresolved
    /// `uid`: the subject's real user id, when known (an `exec` with kernel details: taken
    /// in the kernel at the exec).
    case uid
    /// `gid`: an exec's real group id, taken in the kernel (`exec` events with kernel details).
    case gid
    /// `loginuid`: an exec's login (audit) user id, when set (`exec` events with kernel details).
    case loginUID
    /// `cgroup_id`: the id of the cgroup (v2) an exec runs in (`exec` events with kernel details).
    case cgroupID
    /// `cgroup`: the cgroup path that stands for the subject (``CgroupMembership``), read at
    /// its exec or inherited at its fork, and kept after it exits.
    case cgroup
    /// `container_id`: the container that path names (``ContainerAttribution``), when it names one.
    case containerID
    /// `container_runtime`: the runtime that made the container, when the path shows it
    /// (``ContainerRuntime``: `docker`, `containerd`, `cri-o`, `podman`, `systemd-nspawn`).
    case containerRuntime
    /// `pod_uid`: the Kubernetes pod of the container, when it is one's.
    case podUID
    /// `pod_qos`: that pod's QoS class (`guaranteed`, `burstable`, `besteffort`).
    case podQoS
    /// `path`: the path a failed exec was called with (`exec_failed` events).
    case path
    /// `errno`: the error number a failed exec returned (`exec_failed` events).
    case errorNumber
    /// `error`: that error number's symbolic name, e.g. `ENOENT` (`exec_failed` events).
    case errorName
    /// `exit_code`: the raw wait status (`exit` events).
    case exitCode
    /// `exit_signal`: the signal the parent gets (`exit` events).
    case exitSignal
    /// `status`: the decoded wait status (`exit` events).
    case status
    /// `duration_s`: the lifetime in seconds, when its start is known (`exit` events).
    case duration
    /// `cpu_user_us`: the exiting task's CPU time in user mode, in microseconds, taken in
    /// the kernel (`exit` events with kernel details). The same name as the store's
    /// `processes` and `jobs` columns of that figure.
    case cpuUser
    /// `cpu_system_us`: the exiting task's CPU time in kernel mode, in microseconds (as `cpu_user_us`).
    case cpuSystem
    /// `peak_rss_kb`: the exiting task's peak resident set, in KiB (as `cpu_user_us`).
    case peakRSS
    /// `read_bytes`: bytes the exiting task read from storage (as `cpu_user_us`).
    case readBytes
    /// `write_bytes`: bytes the exiting task wrote to storage (as `cpu_user_us`).
    case writeBytes
    /// `read_chars`: bytes the exiting task read through system calls, storage or not
    /// (as `cpu_user_us`; the name `run --json` gives the figure).
    case readChars
    /// `write_chars`: bytes the exiting task wrote through system calls (as `read_chars`).
    case writeChars
    /// `count`: how many events are missing, or null when unknown (`lost` events).
    case count
    /// `reason`: why events are missing (`lost` events; ``LossReason``).
    case reason
    /// `what`: the kernel's event number (`unknown` events).
    case what
    /// `data`: the event's bytes after its header (`unknown` events).
    case data
    /// `ancestry`: the subject's ancestors, nearest first, when asked for (`--ancestry`).
    case ancestry

    /// The field's name in the contract.
    public var name: StaticString {
        switch self {
        case .event: "event"
        case .time: "time"
        case .kernelTime: "ktime_ns"
        case .cpu: "cpu"
        case .sequence: "seq"
        case .pid: "pid"
        case .tid: "tid"
        case .processKey: "process_key"
        case .parentPID: "ppid"
        case .parentTID: "ptid"
        case .thread: "thread"
        case .realUID: "ruid"
        case .effectiveUID: "euid"
        case .realGID: "rgid"
        case .effectiveGID: "egid"
        case .session: "sid"
        case .tracerPID: "tracer_pid"
        case .tracerTID: "tracer_tid"
        case .comm: "comm"
        case .commandLine: "cmdline"
        case .commandLineCut: "cmdline_cut"
        case .executable: "exe"
        case .executableUnresolved: "exe_unresolved"
        case .uid: "uid"
        case .gid: "gid"
        case .loginUID: "loginuid"
        case .cgroupID: "cgroup_id"
        case .cgroup: "cgroup"
        case .containerID: "container_id"
        case .containerRuntime: "container_runtime"
        case .podUID: "pod_uid"
        case .podQoS: "pod_qos"
        case .path: "path"
        case .errorNumber: "errno"
        case .errorName: "error"
        case .exitCode: "exit_code"
        case .exitSignal: "exit_signal"
        case .status: "status"
        case .duration: "duration_s"
        case .cpuUser: "cpu_user_us"
        case .cpuSystem: "cpu_system_us"
        case .peakRSS: "peak_rss_kb"
        case .readBytes: "read_bytes"
        case .writeBytes: "write_bytes"
        case .readChars: "read_chars"
        case .writeChars: "write_chars"
        case .count: "count"
        case .reason: "reason"
        case .what: "what"
        case .data: "data"
        case .ancestry: "ancestry"
        }
    }
}

/// Receives an event's contract fields, in contract order, each with a value of its type.
///
/// The JSON view writes each call as one member of a JSON object; the store binds each to
/// the column of the same name. A field that does not apply is never passed (the contract
/// has it absent, not null); the one explicit null is a `lost` event's unknown `count`.
public protocol EventFieldSink {
    /// A text field (`event`, `comm`, `exe`, `reason`, `path`, `error`).
    mutating func string(_ field: EventField, _ value: String)
    /// An integer field (ids, `ktime_ns`, `cpu`, `seq`, `exit_code`, …).
    mutating func integer<Value: BinaryInteger>(_ field: EventField, _ value: Value)
    /// A true/false field (`thread`, `cmdline_cut`, `exe_unresolved`).
    mutating func boolean(_ field: EventField, _ value: Bool)
    /// A field that is there but unknown (a `lost` event's `count`).
    mutating func null(_ field: EventField)
    /// A point in time (`time`), as Unix-epoch nanoseconds, to be written as RFC 3339 UTC.
    mutating func time(_ field: EventField, unixNanoseconds: Int64)
    /// A list of strings (`cmdline`).
    mutating func strings(_ field: EventField, _ values: [String])
    /// A list of bytes, written as numbers (`data`).
    mutating func numbers(_ field: EventField, _ values: [UInt8])
    /// A decoded wait status (`status`): `{"exited": 3}` or `{"signaled": 9, "core": false}`.
    mutating func exitStatus(_ field: EventField, _ status: ExitStatus)
    /// A duration in seconds (`duration_s`), written with microsecond precision.
    mutating func seconds(_ field: EventField, _ value: Double)
    /// A process's identity (`process_key`), written as ``ProcessKey/description``.
    mutating func processKey(_ field: EventField, _ key: ProcessKey)
    /// Processes by pid and name, nearest first (`ancestry`).
    mutating func ancestry(_ field: EventField, _ ancestors: [ProcessRecord])
}

extension ProcessEvent {
    /// Passes the event's contract fields to `sink`, in contract order: the event's own, then
    /// what the process table knew of its subject (`process`, after the event), then its
    /// `ancestors` (nearest first) when there are any.
    ///
    /// What the kernel-side watchers took in the kernel (``kernelDetails``) wins over the
    /// process table's view of the same thing: it was read at the event, the table's maybe
    /// later or never.
    ///
    /// Inlinable so that each front end's sink is specialized into it: the JSON view writes
    /// a line with no allocation.
    @inlinable
    public func writeContractFields<Sink: EventFieldSink>(
        process: ProcessRecord?, ancestors: [ProcessRecord] = [], to sink: inout Sink
    ) {
        sink.string(.event, name)
        sink.time(.time, unixNanoseconds: timestamp.unixNanoseconds)
        sink.integer(.kernelTime, timestamp.monotonicNanoseconds)
        if case .lost(let count, let reason, let cpu) = detail {
            if let cpu { sink.integer(.cpu, cpu) }
            if let count { sink.integer(.count, count) } else { sink.null(.count) }
            sink.string(.reason, reason.rawValue)
            return
        }
        sink.integer(.cpu, cpu)
        sink.integer(.sequence, sequence)
        if let subject {
            sink.integer(.pid, subject.pid)
            sink.integer(.tid, subject.tid)
            if let key = process?.key { sink.processKey(.processKey, key) }
        }
        switch detail {
        case .fork(let parent, let child):
            sink.integer(.parentPID, parent.pid)
            sink.integer(.parentTID, parent.tid)
            sink.boolean(.thread, child.isThread)
        case .coredump(_, let parent):
            sink.integer(.parentPID, parent.pid)
            sink.integer(.parentTID, parent.tid)
        case .exit(let task, _, _, let parent):
            sink.integer(.parentPID, parent.pid)
            sink.integer(.parentTID, parent.tid)
            sink.boolean(.thread, task.isThread)
        default:
            if let parent = process?.parentPID, parent > 0 { sink.integer(.parentPID, parent) }
        }
        let execDetails = kernelExecDetails
        switch detail {
        case .uid(_, let real, let effective):
            sink.integer(.realUID, real)
            sink.integer(.effectiveUID, effective)
        case .gid(_, let real, let effective):
            sink.integer(.realGID, real)
            sink.integer(.effectiveGID, effective)
        case .sid(let task):
            sink.integer(.session, task.pid)
        case .ptrace(_, let tracer):
            sink.integer(.tracerPID, tracer.pid)
            sink.integer(.tracerTID, tracer.tid)
        case .unknown(let what, let data):
            sink.integer(.what, what)
            sink.numbers(.data, data)
        default:
            // An exec's effective ids, in the place of the `uid`/`gid` events' (contract order).
            if let execDetails {
                sink.integer(.effectiveUID, execDetails.effectiveUID)
                sink.integer(.effectiveGID, execDetails.effectiveGID)
            }
        }
        if case .comm(_, let name) = detail {
            sink.string(.comm, name)
        } else if let name = process?.name, !name.isEmpty {
            sink.string(.comm, name)
        }
        let commandLine = carriedCommandLine ?? process?.commandLine ?? []
        if !commandLine.isEmpty { sink.strings(.commandLine, commandLine) }
        if isCarriedCommandLineCut { sink.boolean(.commandLineCut, true) }
        if let executable = execDetails?.executable ?? process?.executable { sink.string(.executable, executable) }
        if execDetails?.isExecutableUnresolved == true { sink.boolean(.executableUnresolved, true) }
        if let uid = execDetails?.uid ?? process?.uid { sink.integer(.uid, uid) }
        if let execDetails {
            sink.integer(.gid, execDetails.gid)
            if let loginUID = execDetails.loginUID { sink.integer(.loginUID, loginUID) }
            sink.integer(.cgroupID, execDetails.cgroupID)
        }
        if let cgroup = process?.cgroup {
            sink.string(.cgroup, cgroup)
            if let container = process?.container {
                sink.string(.containerID, container.id)
                if let runtime = container.runtime { sink.string(.containerRuntime, runtime.rawValue) }
                if let podUID = container.podUID { sink.string(.podUID, podUID) }
                if let podQoS = container.podQoS { sink.string(.podQoS, podQoS.rawValue) }
            }
        }
        if case .execFailed(_, let failure) = detail {
            sink.string(.path, failure.path)
            sink.integer(.errorNumber, failure.errno)
            sink.string(.errorName, failure.errorName)
        }
        if case .exit(_, let waitStatus, let exitSignal, _) = detail {
            sink.integer(.exitCode, waitStatus)
            sink.integer(.exitSignal, exitSignal)
            sink.exitStatus(.status, ExitStatus(waitStatus: waitStatus))
            if let seconds = process?.lifetimeSeconds { sink.seconds(.duration, seconds) }
            if let usage = kernelDetails?.usage {
                sink.integer(.cpuUser, usage.userMicroseconds)
                sink.integer(.cpuSystem, usage.systemMicroseconds)
                sink.integer(.peakRSS, usage.peakRSSKiB)
                sink.integer(.readBytes, usage.readBytes)
                sink.integer(.writeBytes, usage.writeBytes)
                sink.integer(.readChars, usage.readChars)
                sink.integer(.writeChars, usage.writeChars)
            }
        }
        if !ancestors.isEmpty { sink.ancestry(.ancestry, ancestors) }
    }
}
