import Glibc

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

extension Storm {
    /// Starts the storm's forkers (`storm-bench forker` from `executable`) together, waits
    /// for all of them, and sums the children they made.
    func runForkers(executable: String) throws -> (pids: [pid_t], children: Int) {
        var arguments = [executable, "forker", "--count", "\(count)"]
        if let exec { arguments += ["--exec", exec] }
        var started: [(pid: pid_t, output: Int32)] = []
        defer { started.forEach { close($0.output) } }
        for _ in 0..<forkers {
            let (readEnd, writeEnd) = try makePipe()
            defer { close(writeEnd) }
            do {
                started.append((try spawn(arguments, stdout: .descriptor(writeEnd)), readEnd))
            } catch {
                close(readEnd)
                throw error
            }
        }
        var children = 0
        var problems: [String] = []
        for forker in started {
            let output = readAll(forker.output)
            let end = waitFor(forker.pid)
            if let made = Int(output.trimmingCharacters) { children += made } else { problems.append("no count from forker \(forker.pid)") }
            if !end.exitedCleanly { problems.append("forker \(forker.pid) ended with \(end.description)") }
        }
        if !problems.isEmpty { throw BenchError(problems.joined(separator: "; ")) }
        return (started.map(\.pid), children)
    }
}
