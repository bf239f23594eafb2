/// Judges a consumer's exec lines against the reference taken in the same run.
///
/// The workload's execs are the reference's execs in the workload's time window whose
/// ancestry reaches storm-bench (a process reparented to init before its exec drops out).
/// Each is matched to the consumer's line for the same exec: by the kernel timestamp when
/// the consumer prints one (the connector's exec event is stamped during the exec, before
/// the execve returns, and after the previous exec of that pid returned), else by order
/// among the execs of that pid since the start sentinel.
struct CommandLineJudge {
    /// What a consumer got right, out of the reference's workload execs.
    struct Verdict {
        /// Workload execs the consumer printed a line for.
        var seen = 0
        /// ... and whose argv the reference read: the denominator of the two below.
        var withArgv = 0
        /// The command line shown equals the reference's (up to what the reference read).
        var rightCommandLine = 0
        /// The program shown is the reference's (argv[0] basename): the command line's first
        /// element, or the name shown in its place.
        var rightProgram = 0
        /// Execs shown with a name only: procwatch's comm, forkstat's comm or `<unknown>`.
        var nameOnly = 0
        /// Up to a few examples of wrong command lines, for the notes.
        var examples: [String] = []
    }

    let reference: ReferenceLog
    /// Indices (into reference.execs) of the workload's execs.
    let workload: [Int]
    /// The reference's execs of each pid, in time order (indices into reference.execs).
    let byPID: [Int: [Int]]
    /// When the start sentinel's execve returned (monotonic ns): order matching starts there.
    let startTime: Int

    init(reference: ReferenceLog, root: Int, window: ClosedRange<Int>, startTime: Int) {
        self.reference = reference
        self.startTime = startTime
        var byPID: [Int: [Int]] = [:]
        var workload: [Int] = []
        for (index, exec) in reference.execs.enumerated() {
            byPID[exec.pid, default: []].append(index)
            if window.contains(exec.time) && exec.ancestors.contains(root) { workload.append(index) }
        }
        self.byPID = byPID
        self.workload = workload
    }

    var workloadExecs: Int { workload.count }
    var workloadWithArgv: Int { workload.filter { reference.execs[$0].argv != nil }.count }
    var workloadTruncated: Int { workload.filter { reference.execs[$0].truncated }.count }

    func judge(_ view: ExecView, byKernelTime: Bool, startSentinel: (pid: Int, mark: String)) -> Verdict {
        let matched = byKernelTime ? matchByTime(view) : matchByOrder(view, startSentinel: startSentinel)
        var verdict = Verdict()
        for index in workload {
            let exec = reference.execs[index]
            let shown = matched[index]
            if shown != nil { verdict.seen += 1 }
            guard let argv = exec.argv else { continue }
            verdict.withArgv += 1
            guard let shown else { continue }
            let (commandLine, program) = Self.compare(shown.shown, with: argv, truncated: exec.truncated)
            if commandLine { verdict.rightCommandLine += 1 }
            if program { verdict.rightProgram += 1 }
            if shown.shown.isNameOnly {
                verdict.nameOnly += 1
            } else if !commandLine, verdict.examples.count < 3 {
                verdict.examples.append("pid \(exec.pid): reference \(argv), shown \(shown.shown)")
            }
        }
        return verdict
    }

    /// Each shown exec to the first reference exec of its pid that returned at or after its
    /// timestamp.
    func matchByTime(_ view: ExecView) -> [Int: ShownExec] {
        var matched: [Int: ShownExec] = [:]
        for shown in view.execs {
            guard let time = shown.time, let candidates = byPID[shown.pid],
                  let index = candidates.first(where: { reference.execs[$0].time >= time }),
                  matched[index] == nil else { continue }
            matched[index] = shown
        }
        return matched
    }

    /// The n-th exec line of a pid after the consumer's start sentinel to the n-th exec of
    /// that pid the reference saw after the sentinel. A lost exec shifts the later ones of
    /// the same pid; pids are rarely reused within a run.
    func matchByOrder(_ view: ExecView, startSentinel: (pid: Int, mark: String)) -> [Int: ShownExec] {
        let first = view.execs.firstIndex { $0.pid == startSentinel.pid && $0.mentions(startSentinel.mark) }
            ?? view.execs.firstIndex { $0.pid == startSentinel.pid }
            ?? view.execs.startIndex
        let sinceStart = byPID.mapValues { $0.filter { reference.execs[$0].time > startTime } }
        var next: [Int: Int] = [:]
        var matched: [Int: ShownExec] = [:]
        for shown in view.execs[first...] {
            guard let candidates = sinceStart[shown.pid] else { continue }
            let position = next[shown.pid, default: 0]
            next[shown.pid] = position + 1
            if position < candidates.count { matched[candidates[position]] = shown }
        }
        return matched
    }

    /// Is the shown command line the reference's, and does it name the reference's program?
    /// A truncated reference is compared as a prefix. A name in place of a command line is
    /// never the command line, but names the program when it is the program's comm: its
    /// first 15 bytes (TASK_COMM_LEN - 1).
    static func compare(_ shown: ShownExec.Shown, with argv: [String], truncated: Bool) -> (commandLine: Bool, program: Bool) {
        let program = argv.first.map(basename)
        switch shown {
        case .name(let name):
            return (false, program.map { String(decoding: $0.utf8.prefix(15), as: UTF8.self) } == name)
        case .argv(let arguments):
            let commandLine: Bool
            if truncated, let last = argv.last {
                commandLine = arguments.count >= argv.count
                    && Array(arguments.prefix(argv.count - 1)) == Array(argv.dropLast())
                    && arguments[argv.count - 1].hasPrefix(last)
            } else {
                commandLine = arguments == argv
            }
            return (commandLine, arguments.first.map(basename) == program)
        case .text(let shownText):
            // A line of text cannot hold a newline: forkstat shows control characters as
            // spaces, procwatch's text view as they are. Either is the right command line.
            let text = shownText.controlsAsSpaces
            let joined = argv.joined(separator: " ").controlsAsSpaces
            let commandLine = truncated ? text.hasPrefix(joined) : text.trimmingTrailingSpaces == joined.trimmingTrailingSpaces
            // argv[0] may hold spaces: take the reference's when the text starts with it.
            let first = (argv.first ?? "").controlsAsSpaces
            let shownProgram = text == first || text.hasPrefix(first + " ") ? first : String(text.prefix { $0 != " " })
            return (commandLine, basename(shownProgram) == program)
        }
    }
}

extension String {
    /// Every control character (below 0x20, and DEL) as a space.
    var controlsAsSpaces: String {
        String(String.UnicodeScalarView(unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : $0 }))
    }

    var trimmingTrailingSpaces: String {
        var text = Substring(self)
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }
}
