/// A set of event kinds, as the kernel's filter bits (`enum proc_cn_event`).
///
/// Used to register watchers (`watchers.on(.exec)`), to ask for a stream, and as the
/// kernel-side filter on 6.6 and later.
public struct ProcessEventKinds: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt32
    /// Creates a set from raw kernel bits.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// A process or thread was created (`PROC_EVENT_FORK`).
    public static let fork = EventKind.fork.bit
    /// A process executed a new program (`PROC_EVENT_EXEC`).
    public static let exec = EventKind.exec.bit
    /// Real or effective user id changed (`PROC_EVENT_UID`).
    public static let uid = EventKind.uid.bit
    /// Real or effective group id changed (`PROC_EVENT_GID`).
    public static let gid = EventKind.gid.bit
    /// A process started a new session (`PROC_EVENT_SID`).
    public static let sid = EventKind.sid.bit
    /// A tracer attached or detached (`PROC_EVENT_PTRACE`).
    public static let ptrace = EventKind.ptrace.bit
    /// A task changed its name (`PROC_EVENT_COMM`).
    public static let comm = EventKind.comm.bit
    /// A task is dumping core (`PROC_EVENT_COREDUMP`).
    public static let coredump = EventKind.coredump.bit
    /// A task exited (`PROC_EVENT_EXIT`).
    public static let exit = EventKind.exit.bit
    /// Only exits with a non-zero wait status (`PROC_EVENT_NONZERO_EXIT`, kernel 6.6+;
    /// filtered in user space on older kernels). Use instead of `.exit`, not with it.
    /// A filter bit, not a kind of event: it selects some `exit` events.
    public static let failedExit = ProcessEventKinds(rawValue: 0x2000_0000)
    /// Event kinds this library does not know yet (not a kernel bit: never sent as a filter).
    public static let unknown = EventKind.unknown.bit

    /// Every kind the kernel sends, and unknown ones.
    public static let all = ProcessEventKinds(EventKind.allCases.map(\.bit))

    /// The bits the kernel's filter understands.
    static let kernelBits = ProcessEventKinds(EventKind.allCases.filter(\.isKernelKind).map(\.bit)).union(.failedExit)

    /// The kinds by their names in the event contract, in contract order (`failed_exit`
    /// after the kernel's kinds, `unknown` last).
    public static let named: [(name: String, kind: ProcessEventKinds)] =
        EventKind.allCases.filter(\.isKernelKind).map { ($0.name, $0.bit) }
        + [("failed_exit", .failedExit)]
        + EventKind.allCases.filter { !$0.isKernelKind }.map { ($0.name, $0.bit) }

    /// Whether an event passes this set (`.failedExit` passes only non-zero exits).
    public func admits(_ event: ProcessEvent) -> Bool {
        guard let kind = event.detail.eventKind else { return true }  // loss reports always pass
        if contains(kind.bit) { return true }
        if contains(.failedExit), case .exit(_, let status, _, _) = event.detail {
            return status != 0
        }
        return false
    }

    public var description: String {
        let names = Self.named.filter { contains($0.kind) }.map(\.name)
        return names.isEmpty ? "none" : names.joined(separator: ",")
    }
}
