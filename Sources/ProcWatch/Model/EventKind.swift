/// The one table of event kinds: for each kind the kernel sends (and for kinds it may send
/// that this library does not know), its `what` value, its name in the event contract, the
/// size of its payload.
///
/// Everything else that depends on the kind is derived from here: the decoder
/// (``ProcEventDecoder``), ``ProcessEvent/kind`` and ``ProcessEvent/name``, the members and
/// tables of ``ProcessEventKinds``, the watcher chains, and the front ends' `-e` names and
/// statistics columns.
///
/// The raw value is the kernel's `what` (`enum proc_cn_event`), which is also the kind's bit
/// in the kernel-side filter. `unknown` has no kernel value: its raw value is a bit the
/// kernel does not use, so that it can be a member of ``ProcessEventKinds``.
package enum EventKind: UInt32, CaseIterable, Sendable {
    /// `PROC_EVENT_FORK`: a process or thread was created.
    case fork = 0x0000_0001
    /// `PROC_EVENT_EXEC`: a process executed a new program.
    case exec = 0x0000_0002
    /// `PROC_EVENT_UID`: real or effective user id changed.
    case uid = 0x0000_0004
    /// `PROC_EVENT_GID`: real or effective group id changed.
    case gid = 0x0000_0040
    /// `PROC_EVENT_SID`: a process started a new session.
    case sid = 0x0000_0080
    /// `PROC_EVENT_PTRACE`: a tracer attached or detached.
    case ptrace = 0x0000_0100
    /// `PROC_EVENT_COMM`: a task changed its name.
    case comm = 0x0000_0200
    /// `PROC_EVENT_COREDUMP`: a task is dumping core.
    case coredump = 0x4000_0000
    /// `PROC_EVENT_EXIT`: a task exited.
    case exit = 0x8000_0000
    /// An execve/execveat that returned an error. Seen only by the kernel-side (eBPF)
    /// watchers: the connector has no such event. Not a connector value: its raw value is a
    /// bit the connector does not use, never sent as a filter.
    case execFailed = 0x0000_0800
    /// Any `what` this library does not know (not a kernel value: never sent as a filter).
    case unknown = 0x0000_0400

    /// The kind of a kernel `what` value; `unknown` for values this library does not know.
    /// (Not called for `PROC_EVENT_NONE`, the acknowledgement, which is no event.)
    @inline(__always)
    package init(what: UInt32) {
        guard let kind = EventKind(rawValue: what), kind.isKernelKind else { self = .unknown; return }
        self = kind
    }

    /// The kind as a member of a ``ProcessEventKinds`` set.
    @inline(__always)
    package var bit: ProcessEventKinds { ProcessEventKinds(rawValue: rawValue) }

    /// Whether the connector knows it (it can be sent as a filter bit).
    package var isKernelKind: Bool { self != .unknown && self != .execFailed }

    /// The bits of a ``ProcessEventKinds`` set that select events of this kind: the kind's
    /// own bit, and for `exit` also `failedExit` (which admits the non-zero ones).
    package var selectingBits: ProcessEventKinds {
        self == .exit ? [bit, ProcessEventKinds.failedExit] : bit
    }

    /// The name in the event contract (the JSON `event` field).
    package var name: String {
        switch self {
        case .fork: "fork"
        case .exec: "exec"
        case .uid: "uid"
        case .gid: "gid"
        case .sid: "sid"
        case .ptrace: "ptrace"
        case .comm: "comm"
        case .coredump: "coredump"
        case .exit: "exit"
        case .execFailed: "exec_failed"
        case .unknown: "unknown"
        }
    }

    /// The bytes of `event_data` the kernel sends for the kind (the member of
    /// `struct proc_event`'s union); nothing is read of an unknown kind's data.
    @inline(__always)
    package var payloadSize: Int {
        switch self {
        case .fork: 16  // parent pid/tgid, child pid/tgid
        case .exec: 8  // pid/tgid
        case .uid, .gid: 16  // pid/tgid, real, effective
        case .sid: 8  // pid/tgid
        case .ptrace: 16  // pid/tgid, tracer pid/tgid
        case .comm: 24  // pid/tgid, comm[16]
        case .coredump: 16  // pid/tgid, parent pid/tgid
        case .exit: 24  // pid/tgid, exit_code, exit_signal, parent pid/tgid
        case .execFailed, .unknown: 0
        }
    }

    /// A small index per kind (the position of its bit, below 32): for tables indexed by kind.
    @inline(__always)
    package var index: Int { rawValue.trailingZeroBitCount }

    /// How many ``index`` values there can be.
    package static let indexCount = 32
}

extension ProcessEvent.Detail {
    /// The kind of the event; nil for `lost`, which is a report, not a kernel event.
    @inline(__always)
    package var eventKind: EventKind? {
        switch self {
        case .fork: .fork
        case .exec: .exec
        case .uid: .uid
        case .gid: .gid
        case .sid: .sid
        case .ptrace: .ptrace
        case .comm: .comm
        case .coredump: .coredump
        case .exit: .exit
        case .execFailed: .execFailed
        case .unknown: .unknown
        case .lost: nil
        }
    }
}
