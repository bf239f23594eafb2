import ProcWatch
#if canImport(Glibc)
import Glibc
#endif

/// What the `meta` row says about a recording besides its times.
public struct RecordingSession: Sendable {
    /// procwatch's own arguments.
    public var arguments: [String]
    /// The command recorded (`record -- COMMAND`), or nil for the whole host.
    public var command: [String]?
    /// The filters given, as typed (`-e exec --comm make`), or nil.
    public var filters: String?
    /// Whether taskstats exit records (CPU, memory, I/O) were available.
    public var taskstats: Bool
    /// The host name.
    public var host: String
    /// `uname -sr`.
    public var kernel: String

    /// A session description; host and kernel are read from `uname(2)`.
    public init(arguments: [String], command: [String]?, filters: String?, taskstats: Bool) {
        self.arguments = arguments
        self.command = command
        self.filters = filters
        self.taskstats = taskstats
        var names = utsname()
        uname(&names)
        func text<T>(_ field: T) -> String {
            withUnsafeBytes(of: field) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        host = text(names.nodename)
        kernel = text(names.sysname) + " " + text(names.release)
    }
}

/// A `record -- COMMAND` job for the `jobs` table: the command's tree with its totals.
public struct RecordedJob: Sendable {
    /// The command line.
    public var command: [String]
    /// The command's process id.
    public var rootPID: Int32
    /// When it started and when the recording of it ended (CLOCK_MONOTONIC nanoseconds).
    public var start: UInt64, end: UInt64?
    /// The command's raw wait status, once reaped.
    public var waitStatus: UInt32?
    /// Every process of the tree, with taskstats figures where available.
    public var members: [JobMember]

    /// A job.
    public init(command: [String], rootPID: Int32, start: UInt64, end: UInt64?, waitStatus: UInt32?, members: [JobMember]) {
        self.command = command
        self.rootPID = rootPID
        self.start = start
        self.end = end
        self.waitStatus = waitStatus
        self.members = members
    }
}
