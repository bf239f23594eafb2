/// What the process table knows about one process.
public struct ProcessRecord: Sendable, Hashable {
    /// Process id.
    public var pid: Int32
    /// Parent process id as last known (0 when unknown).
    public var parentPID: Int32
    /// The process name (`comm`, at most 15 bytes), empty when unknown.
    public var name: String
    /// The command line, when known (read at exec, inherited at fork).
    public var commandLine: [String]
    /// The executable's path, when known.
    public var executable: String?
    /// Real user id, when known.
    public var uid: UInt32?
    /// Effective user id, when known: read from /proc with the record, inherited at fork,
    /// set by `uid` events — a set-user-ID program's exec sends one too (the kernel's
    /// `commit_creds` reports every uid or euid change), just before its exec event.
    public var effectiveUID: UInt32?
    /// The process that last attached to it with ptrace, when seen. Kept after the detach:
    /// the kernel's detach event names no tracer (it sends 0), and this still can. Not
    /// inherited at fork (tracing is not).
    public var lastTracerPID: Int32?
    /// When the process started (CLOCK_MONOTONIC nanoseconds), when known.
    public var startNanoseconds: UInt64?
    /// Set by the exit event: when it ended.
    public var endNanoseconds: UInt64?
    /// The process's identity for consumers (`process_key`): set when the record is made —
    /// at the fork, or from /proc — and never changed, so every event of the process carries
    /// the same one; nil when its start was never known.
    public var key: ProcessKey?
    /// The cgroup path that stands for the process (``CgroupMembership``), read at exec
    /// (and from /proc for a process the table meets running), inherited at fork.
    public private(set) var cgroup: String?
    /// The container ``cgroup`` names, if any.
    public private(set) var container: ContainerAttribution?

    /// Creates a record.
    public init(pid: Int32, parentPID: Int32, name: String, commandLine: [String] = [], executable: String? = nil,
                uid: UInt32? = nil, effectiveUID: UInt32? = nil, startNanoseconds: UInt64? = nil, endNanoseconds: UInt64? = nil) {
        self.pid = pid
        self.parentPID = parentPID
        self.name = name
        self.commandLine = commandLine
        self.executable = executable
        self.uid = uid
        self.effectiveUID = effectiveUID
        self.startNanoseconds = startNanoseconds
        self.endNanoseconds = endNanoseconds
    }

    /// Sets the cgroup path and the container it names (parsed only when the path changed:
    /// a fork's child inherits both as they are).
    public mutating func attribute(cgroup path: String) {
        guard path != cgroup else { return }
        cgroup = path
        container = ContainerAttribution(cgroupPath: path)
    }

    /// Takes `other`'s cgroup and container as they are (a child's at its fork).
    mutating func inheritAttribution(from other: ProcessRecord) {
        cgroup = other.cgroup
        container = other.container
    }

    /// Lifetime in seconds, once both ends are known.
    public var lifetimeSeconds: Double? {
        guard let start = startNanoseconds, let end = endNanoseconds, end >= start else { return nil }
        return Double(end - start) / 1e9
    }
}
