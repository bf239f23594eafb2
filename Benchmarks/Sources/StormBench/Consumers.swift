/// A program that listens to the storm: how to start it and how to read what it saw.
struct Consumer: Sendable {
    enum Kind: String, CaseIterable, Sendable {
        case procwatchQuiet = "procwatch-q"
        case procwatchText = "procwatch-text"
        case procwatchJSON = "procwatch-json"
        case forkstatQuiet = "forkstat-q"
        case forkstatText = "forkstat-text"
        case floor
    }

    var kind: Kind
    /// As shown in the table.
    var label: String
    var argv: [String]
    var isForkstat: Bool { kind == .forkstatQuiet || kind == .forkstatText }

    struct Paths: Sendable {
        var procwatch: String
        var forkstat: String
        var floor: String
    }

    init(_ kind: Kind, paths: Paths) {
        self.kind = kind
        switch kind {
        case .procwatchQuiet: (label, argv) = ("procwatch -q", [paths.procwatch, "-q"])
        case .procwatchText: (label, argv) = ("procwatch >file", [paths.procwatch, "--color", "never"])
        case .procwatchJSON: (label, argv) = ("procwatch --json >file", [paths.procwatch, "--json"])
        // forkstat 0.03.01: -q alone prints nothing at the end; -S is needed too.
        case .forkstatQuiet: (label, argv) = ("forkstat -q -S", [paths.forkstat, "-q", "-S"])
        case .forkstatText: (label, argv) = ("forkstat >file", [paths.forkstat])
        case .floor: (label, argv) = ("naive C consumer", [paths.floor])
        }
    }

    /// Reads the consumer's stdout.
    func parse(stdout path: String, storm: Storm, forkers: Set<Int>) -> Observation {
        switch kind {
        case .procwatchQuiet: return OutputParsers.procwatchStatistics(readText(path))
        case .procwatchText: return OutputParsers.procwatchText(readBytes(path) ?? [], forkers: forkers)
        case .procwatchJSON: return OutputParsers.procwatchJSON(readBytes(path) ?? [], forkers: forkers)
        case .forkstatQuiet: return OutputParsers.forkstatStatistics(readText(path))
        case .forkstatText: return OutputParsers.forkstatText(readBytes(path) ?? [], forkers: forkers)
        case .floor: return OutputParsers.floor(readText(path))
        }
    }
}
