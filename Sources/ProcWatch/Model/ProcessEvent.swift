/// One thing a process did, as the kernel's process events connector reported it —
/// or a report that events were lost.
public struct ProcessEvent: Sendable, Hashable {
    /// What happened and to whom.
    public var detail: Detail
    /// When it happened (kernel timestamp); for `lost`, when the loss was noticed.
    public var timestamp: EventTimestamp
    /// The CPU that emitted it (0 for `lost`).
    public var cpu: UInt32
    /// That CPU's sequence number for it (`cn_msg.seq`; 0 for `lost`).
    public var sequence: UInt32
    /// What the kernel-side (eBPF) watchers read in the kernel at the event — an exec's
    /// command line and credentials, an exit's accounting. nil for events from the connector.
    public var kernelDetails: KernelDetails?
    /// The mode the event came from when it is not the kernel (the contract's `source`);
    /// nil for events read from the kernel (see ``EventOrigin``).
    public var origin: EventOrigin?
    /// For an `exit`: whether its wait status is known. The /proc scanner learns it only
    /// when it sees the zombie (or reaps it); otherwise the status fields are absent.
    public var isExitStatusKnown: Bool

    /// Creates an event.
    public init(detail: Detail, timestamp: EventTimestamp, cpu: UInt32 = 0, sequence: UInt32 = 0,
                kernelDetails: KernelDetails? = nil, origin: EventOrigin? = nil, isExitStatusKnown: Bool = true) {
        self.detail = detail
        self.timestamp = timestamp
        self.cpu = cpu
        self.sequence = sequence
        self.kernelDetails = kernelDetails
        self.origin = origin
        self.isExitStatusKnown = isExitStatusKnown
    }

    /// The event's payload, one case per kernel event kind.
    public enum Detail: Sendable, Hashable {
        /// `child` was created by the process `parent` (a thread when `child.isThread`;
        /// for a thread, the kernel names the process's parent, not the creating thread).
        case fork(parent: TaskID, child: TaskID)
        /// The task executed a new program.
        case exec(TaskID)
        /// The task's real and effective user ids are now `real` and `effective`.
        case uid(TaskID, real: UInt32, effective: UInt32)
        /// The task's real and effective group ids are now `real` and `effective`.
        case gid(TaskID, real: UInt32, effective: UInt32)
        /// The task started a new session; the session id is its pid.
        case sid(TaskID)
        /// `tracer` attached to the task; on detach the tracer is `TaskID(pid: 0, tid: 0)`.
        case ptrace(TaskID, tracer: TaskID)
        /// The task's name (`comm`, at most 15 bytes) is now `name`.
        case comm(TaskID, name: String)
        /// The task is dumping core; `parent` as the kernel sent it (zeros when unknown).
        case coredump(TaskID, parent: TaskID)
        /// The task exited with the raw wait status `waitStatus`; `exitSignal` is the signal
        /// its parent gets (17 = SIGCHLD for processes, -1 for threads); `parent` is zeros
        /// once the task was reaped and for threads.
        case exit(TaskID, waitStatus: UInt32, exitSignal: Int32, parent: TaskID)
        /// The task called execve or execveat and it failed (kernel-side watchers only).
        indirect case execFailed(TaskID, ExecFailure)
        /// A kind this library does not know: the kernel's `what` and the event data bytes.
        case unknown(what: UInt32, data: [UInt8])
        /// Events are missing: `count` of them when known, for `reason`; `cpu` for a sequence gap.
        case lost(count: Int?, reason: LossReason, cpu: UInt32?)
    }

    /// The kind, or nil for `lost`.
    public var kind: ProcessEventKinds? { detail.eventKind?.bit }

    /// The task the event is about (for `fork`: the new child); nil for `lost` and `unknown`.
    public var subject: TaskID? {
        switch detail {
        case .fork(_, let child): child
        case .exec(let task), .uid(let task, _, _), .gid(let task, _, _), .sid(let task),
             .ptrace(let task, _), .comm(let task, _), .coredump(let task, _), .exit(let task, _, _, _),
             .execFailed(let task, _):
            task
        case .unknown, .lost: nil
        }
    }

    /// The subject's process id (for `fork`: the child's), or nil.
    public var pid: Int32? { subject?.pid }

    /// The decoded exit status, for `exit` events.
    public var exitStatus: ExitStatus? {
        if case .exit(_, let waitStatus, _, _) = detail, isExitStatusKnown { return ExitStatus(waitStatus: waitStatus) }
        return nil
    }

    /// The contract name of the event: `fork`, `exec`, …, `exit`, `unknown` or `lost`.
    public var name: String { detail.eventKind?.name ?? "lost" }
}
