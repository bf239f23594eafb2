/// `procwatch report`'s selection of the stored data: all given ones must match.
public struct ReportFilter: @unchecked Sendable {
    // @unchecked: Regex is not Sendable; a filter is used by one report at a time.
    /// Only what overlaps this window (Unix nanoseconds; see ``TimeBound``).
    public var since: TimeBound?, until: TimeBound?
    /// Only processes with this pid.
    public var pid: Int32?
    /// Only this process and its descendants.
    public var tree: Int32?
    /// Only processes whose name or program matches.
    public var comm: Regex<AnyRegexOutput>?
    /// Only one recording of a file that holds several (`--recording N`, `--last`).
    public var recording: RecordingChoice?

    /// No filter.
    public init() {}

    /// Whether any process filter (pid, tree, comm) is given.
    package var selectsProcesses: Bool { pid != nil || tree != nil || comm != nil }
}

/// A `--since`/`--until` value: a timestamp, or seconds after the recording started.
public enum TimeBound: Sendable, Hashable {
    /// Unix nanoseconds.
    case time(Int64)
    /// Seconds after the start of the first recording in the file.
    case offset(Double)

    /// Parses `2026-11-23T01:30:00Z` (UTC; date alone, minutes, seconds, fractions all
    /// accepted) or a number of seconds; nil when it is neither.
    public init?(parsing text: String) {
        if let seconds = Double(text), seconds.isFinite, seconds >= 0 {
            self = .offset(seconds)
        } else if let nanoseconds = StoreClock.parse(text) {
            self = .time(nanoseconds)
        } else {
            return nil
        }
    }

    package func unixNanoseconds(recordingStart: Int64) -> Int64 {
        switch self {
        case .time(let value): value
        case .offset(let seconds): recordingStart + Int64(seconds * 1e9)
        }
    }
}

/// `--recording N` or `--last`: one recording of a file that `record` appended to.
public enum RecordingChoice: Sendable, Hashable {
    /// The recording with this `meta` id (`#N` in the text report).
    case id(Int64)
    /// The newest recording.
    case last
}
