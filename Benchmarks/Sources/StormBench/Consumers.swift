/// A program that listens to the storm: how to start it and how to read what it saw.
struct Consumer: Sendable {
    enum Kind: String, CaseIterable, Sendable {
        case procwatchQuiet = "procwatch-q"
        case procwatchText = "procwatch-text"
        case procwatchJSON = "procwatch-json"
        case procwatchBPFQuiet = "procwatch-bpf-q"
        case procwatchBPFText = "procwatch-bpf-text"
        case procwatchBPFJSON = "procwatch-bpf-json"
        case procwatchBPFRecord = "procwatch-bpf-record"
        case forkstatQuiet = "forkstat-q"
        case forkstatText = "forkstat-text"
        case floor

        /// procwatch's `--source` for this consumer (nil: not procwatch). Always given: the
        /// default is `auto`, which would make a connector row's label untrue on a machine
        /// where BPF loads.
        var source: String? {
            switch self {
            case .procwatchQuiet, .procwatchText, .procwatchJSON: "connector"
            case .procwatchBPFQuiet, .procwatchBPFText, .procwatchBPFJSON, .procwatchBPFRecord: "bpf"
            case .forkstatQuiet, .forkstatText, .floor: nil
            }
        }

        /// The same mode of procwatch on the connector, for the side-by-side ratios.
        var connectorCounterpart: Kind? {
            switch self {
            case .procwatchBPFQuiet: .procwatchQuiet
            case .procwatchBPFText: .procwatchText
            case .procwatchBPFJSON: .procwatchJSON
            default: nil
            }
        }
    }

    var kind: Kind
    /// As shown in the table.
    var label: String
    /// The command line; `record` gets its database's path appended per run (``commandLine(outputBase:)``).
    var argv: [String]
    /// procwatch, to read a recording back (`procwatch report FILE --json`).
    var procwatch: String
    var isForkstat: Bool { kind == .forkstatQuiet || kind == .forkstatText }
    var isProcwatch: Bool { kind.source != nil }
    var isRecord: Bool { kind == .procwatchBPFRecord }

    struct Paths: Sendable {
        var procwatch: String
        var forkstat: String
        var floor: String
    }

    init(_ kind: Kind, paths: Paths) {
        self.kind = kind
        procwatch = paths.procwatch
        let source = kind.source.map { ["--source", $0] } ?? []
        switch kind {
        case .procwatchQuiet: (label, argv) = ("procwatch -q", [paths.procwatch, "-q"] + source)
        case .procwatchText: (label, argv) = ("procwatch >file", [paths.procwatch, "--color", "never"] + source)
        case .procwatchJSON: (label, argv) = ("procwatch --json >file", [paths.procwatch, "--json"] + source)
        case .procwatchBPFQuiet: (label, argv) = ("procwatch-bpf -q", [paths.procwatch, "-q"] + source)
        case .procwatchBPFText: (label, argv) = ("procwatch-bpf >file", [paths.procwatch, "--color", "never"] + source)
        case .procwatchBPFJSON: (label, argv) = ("procwatch-bpf --json >file", [paths.procwatch, "--json"] + source)
        // procwatch execs procwatch-store (next to it) for record: same pid, so wait4 and
        // VmHWM measure the recorder.
        case .procwatchBPFRecord: (label, argv) = ("procwatch-bpf record", [paths.procwatch, "record"] + source + ["-o"])
        // forkstat 0.03.01: -q alone prints nothing at the end; -S is needed too.
        case .forkstatQuiet: (label, argv) = ("forkstat -q -S", [paths.forkstat, "-q", "-S"])
        case .forkstatText: (label, argv) = ("forkstat >file", [paths.forkstat])
        case .floor: (label, argv) = ("naive C consumer", [paths.floor])
        }
    }

    /// The files a run writes besides stdout and stderr: `record`'s SQLite database (and
    /// its WAL and shared-memory files while open).
    func extraFiles(outputBase: String) -> [String] {
        isRecord ? ["", "-wal", "-shm", "-journal"].map { outputBase + ".db" + $0 } : []
    }

    /// The command line of one run, whose outputs are named after `outputBase`.
    func commandLine(outputBase: String) -> [String] {
        isRecord ? argv + [outputBase + ".db"] : argv
    }

    /// Reads what the consumer saw: its stdout, or for `record` its database read back.
    func parse(outputBase: String, stdout path: String, storm: Storm, forkers: Set<Int>) -> Observation {
        switch kind {
        case .procwatchQuiet, .procwatchBPFQuiet: return OutputParsers.procwatchStatistics(readText(path))
        case .procwatchText, .procwatchBPFText: return OutputParsers.procwatchText(readBytes(path) ?? [], forkers: forkers)
        case .procwatchJSON, .procwatchBPFJSON: return OutputParsers.procwatchJSON(readBytes(path) ?? [], forkers: forkers)
        case .procwatchBPFRecord: return RecordReadBack.observation(procwatch: procwatch, database: outputBase + ".db")
        case .forkstatQuiet: return OutputParsers.forkstatStatistics(readText(path))
        case .forkstatText: return OutputParsers.forkstatText(readBytes(path) ?? [], forkers: forkers)
        case .floor: return OutputParsers.floor(readText(path))
        }
    }
}
