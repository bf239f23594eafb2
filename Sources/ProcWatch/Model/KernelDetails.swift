import CProcWatch

/// What the kernel-side (eBPF) watchers read in the kernel itself at the moment of an
/// event — what the connector cannot send, and what /proc and taskstats can only give
/// after the fact (or not at all, once a short-lived process is gone).
///
/// Boxed (a class with constant fields), so that events from the connector, which never
/// carry it, stay small.
public final class KernelDetails: Sendable, Hashable {
    /// For `exec`: the program, its command line and the credentials it runs with.
    public let exec: ExecDetails?
    /// For `exit`: what the kernel accounted for the exiting task (a thread's exit, the thread's).
    public let usage: ResourceUsage?

    /// Creates the details of one event.
    public init(exec: ExecDetails? = nil, usage: ResourceUsage? = nil) {
        self.exec = exec
        self.usage = usage
    }

    public static func == (lhs: KernelDetails, rhs: KernelDetails) -> Bool {
        lhs.exec == rhs.exec && lhs.usage == rhs.usage
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(exec)
        hasher.combine(usage)
    }
}

/// An exec as the kernel-side watchers saw it, taken at the exec (`sched_process_exec`).
public struct ExecDetails: Sendable, Hashable {
    /// The arguments the new program was started with (`mm->arg_start…arg_end`).
    public var commandLine: [String]
    /// Whether the command line was longer than the watchers copy and was cut.
    public var isCommandLineCut: Bool
    /// The executable's path as /proc/PID/exe gives it (symbolic links resolved, absolute,
    /// across mounts), named in the kernel at the exec from `bprm->file`; when it could not
    /// be named there (``isExecutableUnresolved``), the path the program was executed by
    /// (`bprm->filename`: as passed, maybe relative, a link, or `/dev/fd/N`).
    public var executable: String
    /// Whether ``executable`` is the path the program was executed by, because the kernel-side
    /// walk could not name the file as /proc/PID/exe does (more than 64 steps, longer than
    /// PATH_MAX, a pseudo file such as a memfd).
    public var isExecutableUnresolved: Bool
    /// The name exec gave the process (`task->comm` at the exec: the last part of the path it
    /// was executed by, at most 15 bytes), or nil when not taken.
    public var name: String?
    /// The id of the cgroup (v2) the process runs in.
    public var cgroupID: UInt64
    /// The cgroup that stands for the process (``CgroupMembership``), v1 hierarchies
    /// included, by id; nil when not taken (then /proc tells).
    package var attributedCgroup: AttributedCgroupID?
    /// Real and effective user and group ids after the exec (a set-user-ID program's are changed).
    public var uid: UInt32, effectiveUID: UInt32, gid: UInt32, effectiveGID: UInt32
    /// The login (audit) user id; nil when unset.
    public var loginUID: UInt32?

    /// Creates the details.
    public init(commandLine: [String], isCommandLineCut: Bool, executable: String, cgroupID: UInt64,
                uid: UInt32, effectiveUID: UInt32, gid: UInt32, effectiveGID: UInt32, loginUID: UInt32?,
                isExecutableUnresolved: Bool = false, name: String? = nil) {
        self.isExecutableUnresolved = isExecutableUnresolved
        self.name = name
        self.commandLine = commandLine
        self.isCommandLineCut = isCommandLineCut
        self.executable = executable
        self.cgroupID = cgroupID
        self.uid = uid
        self.effectiveUID = effectiveUID
        self.gid = gid
        self.effectiveGID = effectiveGID
        self.loginUID = loginUID
    }
}

/// An execve or execveat that returned an error, with what it was called with.
public struct ExecFailure: Sendable, Hashable {
    /// The path passed to the call.
    public var path: String
    /// The arguments passed to the call.
    public var commandLine: [String]
    /// Whether the arguments were longer than the watchers copy and were cut.
    public var isCommandLineCut: Bool
    /// The error number the call returned (positive, e.g. 2 for ENOENT).
    public var errno: Int32

    /// Creates a failure.
    public init(path: String, commandLine: [String], isCommandLineCut: Bool, errno: Int32) {
        self.path = path
        self.commandLine = commandLine
        self.isCommandLineCut = isCommandLineCut
        self.errno = errno
    }

    /// The error's symbolic name, e.g. `ENOENT` (`E` and the number for one glibc does not name).
    public var errorName: String { Self.name(ofErrno: errno) }

    /// The symbolic name of an error number, e.g. `ENOENT` (`E` and the number for one
    /// glibc does not name): the one place procwatch names errnos.
    package static func name(ofErrno code: Int32) -> String {
        guard let name = procwatch_errno_name(code) else { return "E\(code)" }
        return String(cString: name)
    }
}
