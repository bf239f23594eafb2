import ProcWatch

/// One process of the history, as `procwatch history` shows it.
public struct HistoryEntry: Sendable, Hashable {
    /// How its life stands.
    public enum State: Sendable, Hashable {
        /// It ended so.
        case ended(ExitStatus)
        /// No end yet, and its recording is still being written.
        case running
        /// No end was recorded, and its recording is over (stopped or cut short): whether
        /// and how it ended is unknown.
        case unknown
    }

    /// The `processes` row id (unique across pid reuse) and its recording's `meta` id.
    public var id: Int64, recording: Int64
    /// Its start, Unix nanoseconds (when first seen, for a process whose start is unknown).
    public var start: Int64
    /// Its end, Unix nanoseconds, once ended.
    public var end: Int64?
    /// Its real uid (the last one recorded), when known.
    public var uid: UInt32?
    /// Process and parent process ids.
    public var pid: Int32, ppid: Int32
    /// The name (comm), the latest command line (empty when never read), the executable.
    public var comm: String, commandLine: [String], executable: String?
    /// User and system CPU (taskstats), microseconds, when accounted.
    public var cpuUserMicroseconds: Int64?, cpuSystemMicroseconds: Int64?
    /// Ended, running or unknown.
    public var state: State
    /// The host it ran on, in the fleet store's history (nil in a store file: one host).
    public var host: String?

    /// An entry as a reader builds it (the file's, the fleet store's).
    public init(id: Int64, recording: Int64, start: Int64, end: Int64?, uid: UInt32?, pid: Int32, ppid: Int32, comm: String,
                commandLine: [String], executable: String?, cpuUserMicroseconds: Int64?, cpuSystemMicroseconds: Int64?,
                state: State, host: String? = nil) {
        self.id = id
        self.recording = recording
        self.start = start
        self.end = end
        self.uid = uid
        self.pid = pid
        self.ppid = ppid
        self.comm = comm
        self.commandLine = commandLine
        self.executable = executable
        self.cpuUserMicroseconds = cpuUserMicroseconds
        self.cpuSystemMicroseconds = cpuSystemMicroseconds
        self.state = state
        self.host = host
    }

    /// Lifetime in seconds, once ended.
    public var durationSeconds: Double? { end.map { Double($0 - start) / 1e9 } }

    /// User plus system CPU seconds, when accounted.
    public var cpuSeconds: Double? {
        cpuUserMicroseconds.map { Double($0 + (cpuSystemMicroseconds ?? 0)) / 1e6 }
    }

    /// The exit status, once ended.
    public var status: ExitStatus? {
        if case .ended(let status) = state { status } else { nil }
    }
}
