/// One storm configuration: `forkers` parallel forkers, each making `count` children that
/// exit at once (plain storm) or exec `exec` first (exec storm).
struct Storm: Sendable {
    var forkers: Int
    var count: Int
    var exec: String?

    var name: String { exec == nil ? "fork+exit N=\(forkers)" : "fork+exec N=\(forkers)" }
    /// Events per child: fork and exit, plus exec in an exec storm.
    var eventsPerChild: Int { exec == nil ? 2 : 3 }
}

/// What a consumer's output says it saw.
struct Observation: Sendable {
    enum Scope: String, Sendable {
        /// Only the storm's own events, identified by pid / parent pid.
        case storm
        /// The per-command statistics rows that name the storm's processes (a few
        /// background events may be included).
        case rows
        /// Every event of the storm's kinds, background included.
        case all
    }

    var scope: Scope
    var forks = 0
    var execs = 0
    var exits = 0
    /// Every event the consumer handled, storm and background, of any kind (for CPU per event).
    var handled = 0
    /// Events the consumer reported as lost; nil when it cannot tell.
    var lost: Int?
    /// Loss reports that gave no count.
    var uncountedLossReports = 0
    /// Exits (of the exec storm's children) named `true`; nil when not applicable or unknown.
    var namedTrue: Int?
    var notes: [String] = []

    init(scope: Scope) { self.scope = scope }

    func received(in storm: Storm) -> Int { forks + exits + (storm.exec == nil ? 0 : execs) }
}
