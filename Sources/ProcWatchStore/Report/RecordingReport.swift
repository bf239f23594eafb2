import ProcWatch

/// Everything `procwatch report` shows, read from a recording file and filtered.
public struct RecordingReport: Sendable {
    /// One recording session (a `meta` row).
    public struct Session: Sendable, Hashable {
        /// The `meta` row id (events and processes refer to it as `recording`).
        public var id: Int64
        /// Where it was recorded: host name and `uname -sr`.
        public var host: String, kernel: String
        /// The recorded command, or nil for the whole host.
        public var command: [String]?
        /// The filters given to `record`, as typed.
        public var filters: String?
        /// Start and end, RFC 3339 UTC (no end when cut short).
        public var started: String, ended: String?
        /// Why it ended (`signal`, `duration`, `command`, `error`); nil when cut short (kill -9).
        public var endReason: String?
        /// Whether taskstats figures (CPU, memory, I/O) were recorded.
        public var taskstats: Bool
        /// No end yet and its recorder still writes (without an end and a recorder: cut short).
        public var inProgress: Bool

        /// A session as a reader builds it.
        public init(id: Int64, host: String, kernel: String, command: [String]?, filters: String?, started: String,
                    ended: String?, endReason: String?, taskstats: Bool, inProgress: Bool) {
            self.id = id
            self.host = host
            self.kernel = kernel
            self.command = command
            self.filters = filters
            self.started = started
            self.ended = ended
            self.endReason = endReason
            self.taskstats = taskstats
            self.inProgress = inProgress
        }
    }

    /// A recorded command's job (a `jobs` row).
    public struct JobTotals: Sendable, Hashable {
        /// The command line and the pid it ran as.
        public var command: [String]
        public var rootPID: Int32
        /// How the command ended (nil if the recording ended first).
        public var status: ExitStatus?
        /// From its start to its exit.
        public var wallSeconds: Double?
        /// Processes and threads in its tree, and the processes that failed.
        public var processes: Int, threads: Int, failed: Int
        /// User plus system CPU of the whole tree (taskstats).
        public var cpuSeconds: Double
        /// The tree's largest peak RSS, and its storage bytes read and written.
        public var peakRSSKiB: Int64, readBytes: Int64, writeBytes: Int64

        /// A job as a reader builds it.
        public init(command: [String], rootPID: Int32, status: ExitStatus?, wallSeconds: Double?, processes: Int, threads: Int,
                    failed: Int, cpuSeconds: Double, peakRSSKiB: Int64, readBytes: Int64, writeBytes: Int64) {
            self.command = command
            self.rootPID = rootPID
            self.status = status
            self.wallSeconds = wallSeconds
            self.processes = processes
            self.threads = threads
            self.failed = failed
            self.cpuSeconds = cpuSeconds
            self.peakRSSKiB = peakRSSKiB
            self.readBytes = readBytes
            self.writeBytes = writeBytes
        }
    }

    /// Processes of one program: how many ran, their CPU and their summed lifetimes.
    public struct CommandTotals: Sendable, Hashable {
        /// The program (command line's first word without its directory, else the name).
        public var program: String
        /// How many processes ran it.
        public var count: Int
        /// Their CPU seconds and summed lifetimes.
        public var cpuSeconds: Double
        public var wallSeconds: Double
    }

    /// The processes of one container (or of the host: ``id`` nil).
    public struct ContainerTotals: Sendable, Hashable {
        /// The container id, nil for processes in no container.
        public var id: String?
        /// Its runtime, when recorded.
        public var runtime: String?
        /// How many processes ran in it, how many failed, and their CPU seconds.
        public var processes: Int, failed: Int
        public var cpuSeconds: Double
        /// Its Kubernetes pod and the pod's QoS class, when recorded.
        public var podUID: String? = nil, podQoS: String? = nil
    }

    /// The file it was read from.
    public var path: String
    /// The recording sessions reported, oldest first: every one in the file, or the one
    /// ``ReportFilter/recording`` chose.
    public var sessions: [Session]
    /// The ids of every recording in the file.
    public var recordingsInFile: [Int64]
    /// The window shown (Unix nanoseconds).
    public var start: Int64, end: Int64
    /// The selected processes, depth-first: each followed by its descendants, children by start.
    public var processes: [StoredProcess]
    /// Depth in the tree of each process in ``processes`` (0 for a root).
    public var depths: [Int]
    /// Events per kind in the window (for the selected processes when a process filter is given).
    public var eventCounts: [String: Int]
    /// `lost` reports in the window and the events they count (unknown counts excluded).
    public var lostReports: Int, lostEvents: Int
    /// Lost events per reason.
    public var lostByReason: [String: Int]
    /// Jobs of recorded commands.
    public var jobs: [JobTotals]
    /// Whether it was read from the fleet store (``path`` names the server; recordings are
    /// numbered by start, several hosts' side by side) rather than from a recording file.
    public var fleet: Bool

    /// A report as a reader builds it (the file's, the fleet store's); see the
    /// properties for each value.
    public init(path: String, sessions: [Session], recordingsInFile: [Int64], start: Int64, end: Int64,
                processes: [StoredProcess], depths: [Int], eventCounts: [String: Int], lostReports: Int, lostEvents: Int,
                lostByReason: [String: Int], jobs: [JobTotals], fleet: Bool = false) {
        self.path = path
        self.sessions = sessions
        self.recordingsInFile = recordingsInFile
        self.start = start
        self.end = end
        self.processes = processes
        self.depths = depths
        self.eventCounts = eventCounts
        self.lostReports = lostReports
        self.lostEvents = lostEvents
        self.lostByReason = lostByReason
        self.jobs = jobs
        self.fleet = fleet
    }

    /// The hosts the selected processes ran on, sorted (empty for a recording file: one host,
    /// named by its sessions).
    public var hosts: [String] { Set(processes.compactMap(\.host)).sorted() }

    /// Whether process listings name each process's host: when they span several.
    public var showsHosts: Bool { hosts.count > 1 }

    /// Seconds the window spans.
    public var spanSeconds: Double { Double(end - start) / 1e9 }

    /// The processes that failed, in the order they ended.
    public var failed: [StoredProcess] {
        processes.filter(\.failed).sorted { ($0.end ?? .max, $0.id) < ($1.end ?? .max, $1.id) }
    }

    /// Threads created by the selected processes.
    public var threads: Int { processes.reduce(0) { $0 + $1.threads } }

    /// Totals per program, ordered by `key` (descending), then by name.
    public func topCommands(by key: KeyPath<CommandTotals, Double>, limit: Int = 10) -> [CommandTotals] {
        var totals: [String: CommandTotals] = [:]
        for process in processes {
            var entry = totals[process.program] ?? CommandTotals(program: process.program, count: 0, cpuSeconds: 0, wallSeconds: 0)
            entry.count += 1
            entry.cpuSeconds += process.cpuSeconds ?? 0
            entry.wallSeconds += process.durationSeconds ?? Double(end - process.start) / 1e9
            totals[process.program] = entry
        }
        return Array(totals.values.sorted { ($0[keyPath: key], $1.program) > ($1[keyPath: key], $0.program) }.prefix(limit))
    }
}

extension RecordingReport {
    /// Totals per container, the most processes first (then by id, the host last among equals).
    public var byContainer: [ContainerTotals] {
        var totals: [String?: ContainerTotals] = [:]
        for process in processes {
            var entry = totals[process.containerID]
                ?? ContainerTotals(id: process.containerID, runtime: process.containerRuntime, processes: 0, failed: 0, cpuSeconds: 0)
            entry.processes += 1
            if process.failed { entry.failed += 1 }
            entry.cpuSeconds += process.cpuSeconds ?? 0
            if entry.runtime == nil { entry.runtime = process.containerRuntime }
            if entry.podUID == nil { (entry.podUID, entry.podQoS) = (process.podUID, process.podQoS) }
            totals[process.containerID] = entry
        }
        return totals.values.sorted { ($1.processes, $0.id ?? "\u{10FFFF}") < ($0.processes, $1.id ?? "\u{10FFFF}") }
    }
}

extension RecordingReport.CommandTotals {
    /// The count as a `Double`, to sort by it like the other figures.
    public var countValue: Double { Double(count) }
}
