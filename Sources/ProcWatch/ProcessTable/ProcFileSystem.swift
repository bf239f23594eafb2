/// What the process table and the enrichment stage read from /proc, behind a protocol so
/// that tests can play /proc the way ``NetlinkTransport`` lets them play the kernel: a
/// process that vanished before its exec was read, a pid reused within one batch.
///
/// ``ProcFS`` is the real one. Implementations are used from one thread at a time (the
/// reader thread, or under the process table's lock).
package protocol ProcFileSystem: AnyObject, Sendable {
    /// What each exec'd process of `pids` shows now, in the same order: command lines
    /// first for all of them (the first thing to vanish when a process exits), then names
    /// and, with `executables`, the executable paths, then cgroup paths. nil where the process is gone.
    func readExecs(of pids: [Int32], executables: Bool) -> [ExecSnapshot?]

    /// Parent pid and start time (nanoseconds since boot) from `/proc/PID/stat`; nil when gone.
    func status(_ pid: Int32) -> (parent: Int32, startSinceBoot: UInt64)?

    /// Everything /proc tells about a live process, as a table entry whose
    /// `startNanoseconds` counts from boot (CLOCK_BOOTTIME, as `/proc/PID/stat` has it: the
    /// table moves it to CLOCK_MONOTONIC); nil when gone.
    func snapshot(_ pid: Int32) -> ProcessRecord?

    /// The attributed cgroup path of a process (``CgroupMembership``, from
    /// `/proc/PID/cgroup`); nil when gone.
    func cgroup(_ pid: Int32) -> String?

    /// The pids of every process /proc lists now.
    func pids() -> [Int32]

    /// The thread ids of a process (`/proc/PID/task`); empty once it is gone.
    func threads(_ pid: Int32) -> [Int32]
}

/// What /proc showed of a process right after its exec.
package struct ExecSnapshot: Sendable, Hashable {
    /// `/proc/PID/cmdline` split at NULs: empty once the process has released its memory
    /// (a zombie) — the name may still be readable then.
    package var commandLine: [String]
    /// `/proc/PID/comm`, nil if it could not be read.
    package var name: String?
    /// The target of `/proc/PID/exe`, when asked for and readable.
    package var executable: String?
    /// The attributed cgroup path (``CgroupMembership``), nil if it could not be read.
    package var cgroup: String?

    package init(commandLine: [String], name: String?, executable: String? = nil, cgroup: String? = nil) {
        self.commandLine = commandLine
        self.name = name
        self.executable = executable
        self.cgroup = cgroup
    }
}
