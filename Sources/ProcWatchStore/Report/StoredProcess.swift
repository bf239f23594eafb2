import ProcWatch

/// One `processes` row as a report shows it.
public struct StoredProcess: Sendable, Hashable {
    /// The row id (unique across pid reuse) and the parent's row id when it was recorded.
    public var id: Int64, parent: Int64?
    /// Process and parent process ids.
    public var pid: Int32, ppid: Int32
    /// The name (comm) and the latest command line (empty when never read).
    public var comm: String, commandLine: [String]
    /// Start and end as Unix nanoseconds (start: first seen when it predates the recording;
    /// end nil while it ran when the recording ended).
    public var start: Int64, end: Int64?
    /// Whether its start is known (its fork, or /proc's start time) rather than first seen.
    public var startKnown: Bool
    /// How it ended.
    public var status: ExitStatus?
    /// User plus system CPU seconds from taskstats, when accounted.
    public var cpuSeconds: Double?
    /// Peak resident set (KiB), storage bytes read and written, when accounted.
    public var peakRSSKiB: Int64?, readBytes: Int64?, writeBytes: Int64?
    /// Threads it created.
    public var threads: Int
    /// The container it ran in and that container's runtime, when its cgroup named one
    /// (nil in files recorded before the columns existed).
    public var containerID: String?, containerRuntime: String?
    /// The Kubernetes pod of that container and its QoS class (`guaranteed`, `burstable`,
    /// `besteffort`), when its cgroup named one (nil in files recorded before the columns existed).
    public var podUID: String?, podQoS: String?
    /// The host it ran on, in a report over the fleet store (nil in a recording file: one host).
    public var host: String?

    /// A process as a reader builds it (the file's, the fleet store's).
    public init(id: Int64, parent: Int64?, pid: Int32, ppid: Int32, comm: String, commandLine: [String], start: Int64,
                end: Int64?, startKnown: Bool, status: ExitStatus?, cpuSeconds: Double?, peakRSSKiB: Int64?,
                readBytes: Int64?, writeBytes: Int64?, threads: Int, containerID: String? = nil, containerRuntime: String? = nil,
                podUID: String? = nil, podQoS: String? = nil, host: String? = nil) {
        self.id = id
        self.parent = parent
        self.pid = pid
        self.ppid = ppid
        self.comm = comm
        self.commandLine = commandLine
        self.start = start
        self.end = end
        self.startKnown = startKnown
        self.status = status
        self.cpuSeconds = cpuSeconds
        self.peakRSSKiB = peakRSSKiB
        self.readBytes = readBytes
        self.writeBytes = writeBytes
        self.threads = threads
        self.containerID = containerID
        self.containerRuntime = containerRuntime
        self.podUID = podUID
        self.podQoS = podQoS
        self.host = host
    }

    /// The command line, or the name in brackets when the command line was never read.
    public var displayName: String { commandLine.isEmpty ? "[\(comm)]" : commandLine.joined(separator: " ") }

    /// The program: the command line's first word without its directory, else the name.
    public var program: String {
        guard let first = commandLine.first, !first.isEmpty else { return comm }
        return String(first.split(separator: "/").last ?? Substring(first))
    }

    /// Whether it exited with anything but `exit 0`.
    public var failed: Bool { status.map { !$0.isSuccess } ?? false }

    /// Lifetime in seconds, once ended.
    public var durationSeconds: Double? { end.map { Double($0 - start) / 1e9 } }
}
