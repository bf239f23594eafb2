/// What `procwatch history` selects: all given ones must match.
public struct HistoryQuery: @unchecked Sendable {
    // @unchecked: Regex is not Sendable; a query is used by one reader at a time.
    /// Only processes that started at or after this instant (Unix nanoseconds).
    public var since: Int64?
    /// Only processes that started before this instant (Unix nanoseconds): `--since
    /// yesterday --until today` is yesterday, each process once.
    public var until: Int64?
    /// Only processes whose real uid (the last one recorded) is this one.
    public var uid: UInt32?
    /// Only processes whose name (comm) or program (argv[0] without its directory) matches.
    public var comm: Regex<AnyRegexOutput>?
    /// Only processes that failed: a non-zero exit, a signal's death, or an exec that
    /// failed with no exec succeeding in the process's life.
    public var failedOnly = false
    /// Only the newest N of what matches (still shown oldest first).
    public var limit: Int?

    /// Everything.
    public init() {}
}

extension HistoryQuery {
    /// Whether `entry` passes `--comm`: its name (comm) or its program (argv[0] without its
    /// directory) matches; true without `--comm`.
    package func matchesName(_ entry: HistoryEntry) -> Bool {
        guard let comm else { return true }
        let program = entry.commandLine.first.map { String($0.split(separator: "/").last ?? "") } ?? ""
        return (try? comm.firstMatch(in: entry.comm)) != nil || (!program.isEmpty && (try? comm.firstMatch(in: program)) != nil)
    }
}
