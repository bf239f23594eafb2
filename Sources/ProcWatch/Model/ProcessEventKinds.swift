/// A set of event kinds, as the kernel's filter bits (`enum proc_cn_event`).
///
/// Used to register watchers (`watchers.on(.exec)`), to ask for a stream, and as the
/// kernel-side filter on 6.6 and later.
public struct ProcessEventKinds: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt32
    /// Creates a set from raw kernel bits.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// A process or thread was created (`PROC_EVENT_FORK`).
    public static let fork = ProcessEventKinds(rawValue: 0x0000_0001)
    /// A process executed a new program (`PROC_EVENT_EXEC`).
    public static let exec = ProcessEventKinds(rawValue: 0x0000_0002)
    /// Real or effective user id changed (`PROC_EVENT_UID`).
    public static let uid = ProcessEventKinds(rawValue: 0x0000_0004)
    /// Real or effective group id changed (`PROC_EVENT_GID`).
    public static let gid = ProcessEventKinds(rawValue: 0x0000_0040)
    /// A process started a new session (`PROC_EVENT_SID`).
    public static let sid = ProcessEventKinds(rawValue: 0x0000_0080)
    /// A tracer attached or detached (`PROC_EVENT_PTRACE`).
    public static let ptrace = ProcessEventKinds(rawValue: 0x0000_0100)
    /// A task changed its name (`PROC_EVENT_COMM`).
    public static let comm = ProcessEventKinds(rawValue: 0x0000_0200)
    /// A task is dumping core (`PROC_EVENT_COREDUMP`).
    public static let coredump = ProcessEventKinds(rawValue: 0x4000_0000)
    /// A task exited (`PROC_EVENT_EXIT`).
    public static let exit = ProcessEventKinds(rawValue: 0x8000_0000)
    /// Only exits with a non-zero wait status (`PROC_EVENT_NONZERO_EXIT`, kernel 6.6+;
    /// filtered in user space on older kernels). Use instead of `.exit`, not with it.
    public static let failedExit = ProcessEventKinds(rawValue: 0x2000_0000)
    /// Event kinds this library does not know yet (not a kernel bit: never sent as a filter).
    public static let unknown = ProcessEventKinds(rawValue: 0x0000_0400)

    /// Every kind the kernel sends, and unknown ones.
    public static let all: ProcessEventKinds = [.fork, .exec, .uid, .gid, .sid, .ptrace, .comm, .coredump, .exit, .unknown]

    /// The bits the kernel's filter understands.
    static let kernelBits: ProcessEventKinds = [.fork, .exec, .uid, .gid, .sid, .ptrace, .comm, .coredump, .exit, .failedExit]

    /// The kinds by their names in the event contract, in contract order.
    public static let named: [(name: String, kind: ProcessEventKinds)] = [
        ("fork", .fork), ("exec", .exec), ("uid", .uid), ("gid", .gid), ("sid", .sid),
        ("ptrace", .ptrace), ("comm", .comm), ("coredump", .coredump), ("exit", .exit),
        ("failed_exit", .failedExit), ("unknown", .unknown),
    ]

    /// Whether an event passes this set (`.failedExit` passes only non-zero exits).
    public func admits(_ event: ProcessEvent) -> Bool {
        guard let kind = event.kind else { return true }  // loss reports always pass
        if contains(kind) { return true }
        if kind == .exit, contains(.failedExit), case .exit(_, let status, _, _) = event.detail {
            return status != 0
        }
        return false
    }

    public var description: String {
        let names = Self.named.filter { contains($0.kind) }.map(\.name)
        return names.isEmpty ? "none" : names.joined(separator: ",")
    }
}
