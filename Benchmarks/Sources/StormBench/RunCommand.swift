import ArgumentParser
import Glibc

/// `storm-bench run`: every storm against every consumer, one consumer at a time.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the fork storms against each consumer and report events received, losses, CPU and memory."
    )

    @Option(name: .long, help: "Forks per forker in the plain storms.")
    var count = 20_000

    @Option(name: .long, help: "Forks per forker in the exec storm (default: half of --count; an exec costs about 3 forks).")
    var execCount: Int?

    @Option(name: .long, help: "Parallel forkers of the plain storms, comma-separated.")
    var forkers = "1,2,4"

    @Option(name: .long, help: "Parallel forkers of the exec storm, comma-separated (empty: no exec storm).")
    var execForkers = "2"

    @Option(name: .long, help: "Program the exec storm's children exec.")
    var execProgram = "/bin/true"

    @Flag(name: .long, help: "Tiny storms for CI: 2000 forks per forker, N=2 only.")
    var smoke = false

    @Flag(name: .long, help: "Exit 1 unless every procwatch run lost nothing, received every storm event and named every exec-storm exit, and the listener count ends at zero when it started there.")
    var check = false

    @Option(name: .long, help: "Consumers to run, comma-separated: \(Consumer.Kind.allCases.map(\.rawValue).joined(separator: ",")).")
    var consumers = Consumer.Kind.allCases.map(\.rawValue).joined(separator: ",")

    @Option(name: .long, help: "Runs of each storm with no consumer at all (the forkers' own rate, the baseline of the storm/s share): one before the storm's first consumer, after every N consumers, and after its last (0: none).")
    var baselineEvery = 1

    @Option(name: .long, help: "The naive C consumer (Benchmarks/Floor/naive-consumer.c, built).")
    var floor = "Benchmarks/.build/naive-consumer"

    @Option(name: .long, help: "Where to write the JSON report.")
    var json = "bench-storm.json"

    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard count > 0, (execCount ?? 1) > 0 else { throw ValidationError("counts must be positive") }
        guard baselineEvery >= 0 else { throw ValidationError("--baseline-every must be 0 or more") }
        for kind in consumers.split(separator: ",") where Consumer.Kind(rawValue: String(kind)) == nil {
            throw ValidationError("unknown consumer '\(kind)'")
        }
    }

    func run() throws {
        let storms = try plannedStorms()
        let paths = Consumer.Paths(procwatch: common.procwatch, forkstat: common.forkstat, floor: floor)
        let chosen = consumers.split(separator: ",").compactMap { Consumer.Kind(rawValue: String($0)) }.map { Consumer($0, paths: paths) }
        guard let me = readLink("/proc/self/exe") else { throw BenchError("cannot read /proc/self/exe") }
        let directory = try outputDirectory(keep: common.keep, prefix: "storm-bench")
        let runner = MeasurementRunner(forkerExecutable: me, outputDirectory: directory, subscribeSeconds: common.subscribeSeconds, keepOutput: common.keep != nil)
        let system = SystemInfo.current()

        var listenerLog: [String] = []
        let start = try Listeners.settledState()
        var countRaised = start.raised
        let raisedAtStart = countRaised
        if raisedAtStart {
            let cause = start.live.isEmpty
                ? "an earlier program leaked it (no connector socket is open)"
                : "connector sockets with port ids \(start.live.map(String.init).joined(separator: ", ")) are open"
            let warning = "warning: the kernel's proc-connector listener count is already above zero: \(cause); results are still valid, but leaks cannot be detected and forkstat's leak will not be repaired"
            log(warning)
            listenerLog.append(warning)
        }

        var measurements: [Measurement] = []
        var baselines: [BaselineRun] = []
        func baseline(_ storm: Storm, before index: Int) {
            log("    \(storm.name), no consumer (baseline) …")
            let run = BaselineRun.measure(storm, forkerExecutable: me, before: index, listenerCountRaised: countRaised)
            log("    " + Report.baselineSummary(run))
            baselines.append(run)
        }
        var deferredForkstatLeaks = 0
        var index = 0
        for storm in storms {
            for (position, consumer) in chosen.enumerated() {
                index += 1
                if BaselineRun.due(at: position, of: chosen.count, every: baselineEvery) { baseline(storm, before: index) }
                log("[\(index)/\(storms.count * chosen.count)] \(storm.name), \(consumer.label) …")
                // Probe right before forkstat (once other programs' live sockets have closed):
                // its leak is repaired only if nobody listened before.
                if consumer.isForkstat { countRaised = try Listeners.settledState().raised }
                let listenedBefore = countRaised
                var measurement = runner.measure(storm, with: consumer, index: index)
                let after = try Listeners.settledState()
                if !listenedBefore && after.raised {
                    let others = after.live.isEmpty ? "" : " (connector sockets \(after.live.map(String.init).joined(separator: ", ")) still open)"
                    if consumer.isForkstat {
                        try Listeners.releaseOne()
                        countRaised = try Listeners.anyoneListening()
                        measurement.listenerNote = countRaised
                            ? "forkstat leaked the listener count; released one, but someone still listens\(others)"
                            : "forkstat leaked the listener count; released one, back to zero"
                    } else {
                        countRaised = true
                        measurement.listenerNote = after.live.isEmpty
                            ? "\(consumer.label) left the listener count raised (not repaired: only forkstat's leak is)"
                            : "the listener count is raised, but connector sockets \(after.live.map(String.init).joined(separator: ", ")) are open: cannot tell whether \(consumer.label) leaked"
                    }
                    listenerLog.append("\(storm.name), \(consumer.label): \(measurement.listenerNote!)")
                } else {
                    if consumer.isForkstat && listenedBefore {
                        if raisedAtStart {
                            measurement.listenerNote = "the count was already raised before forkstat: its leak cannot be confirmed and was not repaired"
                        } else {
                            // The count was zero at the start, so once nobody listens any more,
                            // what is left is leaks: forkstat's is given back then.
                            deferredForkstatLeaks += 1
                            measurement.listenerNote = "someone else listened before forkstat: its leak is given back at the end of the run"
                        }
                        listenerLog.append("\(storm.name), \(consumer.label): \(measurement.listenerNote!)")
                    }
                    countRaised = after.raised
                }
                log("    " + Report.summary(measurement))
                measurements.append(measurement)
            }
            if BaselineRun.due(at: chosen.count, of: chosen.count, every: baselineEvery) { baseline(storm, before: index + 1) }
        }
        BaselineRun.assign(baselines, to: &measurements)
        if common.keep == nil { rmdir(directory) }
        if deferredForkstatLeaks > 0 {
            // Only leaks are left once no connector socket is open: give back forkstat's,
            // one at a time, each only while the count is still above zero.
            var released = 0
            while released < deferredForkstatLeaks {
                let state = try Listeners.settledState(patience: 60)
                guard state.raised && state.live.isEmpty else { break }
                try Listeners.releaseOne()
                released += 1
            }
            listenerLog.append("released \(released) of \(deferredForkstatLeaks) deferred forkstat leaks")
        }
        let end = try Listeners.settledState()
        let finalState = !end.raised ? "nobody listens (count zero)"
            : end.live.isEmpty ? "count above zero, no connector socket open (a leak)"
            : "someone listens (connector sockets \(end.live.map(String.init).joined(separator: ", ")) open)"
        listenerLog.append("at the end: \(finalState)")

        let report = Report(system: system, storms: storms, measurements: measurements, baselines: baselines, listenerLog: listenerLog,
                            settings: settingsDescription(storms), raisedAtStart: raisedAtStart)
        print(report.table())
        try writeText(report.json().rendered() + "\n", to: json)
        print("JSON: \(json)")
        if check {
            let problems = Self.problems(measurements) + (!raisedAtStart && end.raised ? ["the listener count ends raised: \(finalState)"] : [])
            for problem in problems { printError("check failed: \(problem)") }
            if !problems.isEmpty { throw ExitCode(1) }
        }
    }

    /// What `--check` holds procwatch to: the targets that a small storm can show.
    static func problems(_ measurements: [Measurement]) -> [String] {
        measurements.filter(\.consumer.isProcwatch).flatMap { run -> [String] in
            let name = "\(run.storm.name), \(run.consumer.label)"
            if let failure = run.failure { return ["\(name): \(failure)"] }
            var problems: [String] = []
            if let lost = run.observation?.lost, lost > 0 { problems.append("\(name): \(lost) events lost") }
            if let received = run.received, received < run.expected {
                problems.append("\(name): received \(received) of \(run.expected) storm events")
            }
            if let share = run.namedShare, share < 1 {
                problems.append("\(name): \(Int((share * 100).rounded(.down)))% of the exec storm's exits named right")
            }
            return problems
        }
    }

    func plannedStorms() throws -> [Storm] {
        func numbers(_ list: String) throws -> [Int] {
            try list.split(separator: ",").map {
                guard let n = Int($0), n > 0 else { throw ValidationError("bad forker count '\($0)'") }
                return n
            }
        }
        let plainCount = smoke ? 2000 : count
        let execPerForker = smoke ? 2000 : (execCount ?? max(1, count / 2))
        let plain = smoke ? [2] : try numbers(forkers)
        let exec = smoke ? [2] : try numbers(execForkers)
        return plain.map { Storm(forkers: $0, count: plainCount, exec: nil) }
            + exec.map { Storm(forkers: $0, count: execPerForker, exec: execProgram) }
    }

    func settingsDescription(_ storms: [Storm]) -> [(String, JSON)] {
        [
            ("smoke", .bool(smoke)),
            ("storms", .array(storms.map { .object([("name", .string($0.name)), ("forkers", .int($0.forkers)), ("forks_per_forker", .int($0.count)), ("exec", .optional($0.exec))]) })),
            ("baseline_every", .int(baselineEvery)),
        ] + common.settings + [("floor", .string(floor))]
    }

    func log(_ line: String) {
        printError(line)
    }
}
