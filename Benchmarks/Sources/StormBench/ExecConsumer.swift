/// A program whose exec lines `storm-bench fidelity` judges: how to start it and how to
/// read the command lines it showed.
struct ExecConsumer: Sendable {
    enum Kind: String, CaseIterable, Sendable {
        case procwatchJSON = "procwatch-json"
        case procwatchText = "procwatch-text"
        case procwatchBPFJSON = "procwatch-bpf-json"
        case procwatchBPFText = "procwatch-bpf-text"
        case forkstat

        var isBPF: Bool { self == .procwatchBPFJSON || self == .procwatchBPFText }
    }

    var kind: Kind
    /// As shown in the table.
    var label: String
    var argv: [String]
    var isForkstat: Bool { kind == .forkstat }
    /// Its exec lines carry the kernel's timestamp, which matches them to the reference's
    /// execs exactly; the others are matched by order per pid.
    var hasKernelTime: Bool { kind == .procwatchJSON || kind == .procwatchBPFJSON }

    init(_ kind: Kind, procwatch: String, forkstat: String) {
        self.kind = kind
        switch kind {
        // As a user runs them: every event, not just execs (procwatch's pipeline handles all).
        // The source is always named: the default, auto, would make a connector row untrue.
        case .procwatchJSON: (label, argv) = ("procwatch --json", [procwatch, "--json", "--source", "connector"])
        case .procwatchText: (label, argv) = ("procwatch (text)", [procwatch, "--color", "never", "--source", "connector"])
        case .procwatchBPFJSON: (label, argv) = ("procwatch-bpf --json", [procwatch, "--json", "--source", "bpf"])
        case .procwatchBPFText: (label, argv) = ("procwatch-bpf (text)", [procwatch, "--color", "never", "--source", "bpf"])
        case .forkstat: (label, argv) = ("forkstat -e exec", [forkstat, "-e", "exec"])
        }
    }

    func parse(_ bytes: [UInt8]) -> ExecView {
        switch kind {
        case .procwatchJSON, .procwatchBPFJSON: ExecLineParsers.procwatchJSON(bytes)
        case .procwatchText, .procwatchBPFText: ExecLineParsers.procwatchText(bytes)
        case .forkstat: ExecLineParsers.forkstat(bytes)
        }
    }
}

/// What a consumer showed for one exec.
struct ShownExec {
    enum Shown {
        /// A command line as separate arguments (procwatch --json's `cmdline`).
        case argv([String])
        /// A command line joined by spaces (the text views).
        case text(String)
        /// Only a name in its place: procwatch's `comm` (`[comm]` in the text view),
        /// forkstat's comm or `<unknown>` when /proc had nothing.
        case name(String)

        var isNameOnly: Bool {
            if case .name = self { return true }
            return false
        }
    }

    var pid: Int
    /// The kernel's timestamp (CLOCK_MONOTONIC ns), when the consumer prints it.
    var time: Int?
    var shown: Shown

    /// Does it carry this text anywhere (to find the start sentinel)?
    func mentions(_ text: String) -> Bool {
        switch shown {
        case .argv(let arguments): arguments.contains(text)
        case .text(let line), .name(let line): line.contains(text)
        }
    }
}

/// Every exec line of a consumer's output, in output order.
struct ExecView {
    var execs: [ShownExec] = []
    /// Events the consumer reported lost; nil when it cannot tell (forkstat).
    var lost: Int?
}
