import ArgumentParser
import Glibc

/// `storm-bench fidelity`: how many exec lines show the right command line, on real work,
/// judged against a bpftrace reference taken in the same run.
struct FidelityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fidelity",
        abstract: "Run real exec workloads under a bpftrace reference and each consumer; report the share of execs shown with the right command line."
    )

    @Option(name: .long, help: "Workloads, comma-separated: \(Workload.allCases.map(\.rawValue).joined(separator: ",")).")
    var workloads = Workload.allCases.map(\.rawValue).joined(separator: ",")

    @Option(name: .long, help: "Runs of each workload.")
    var runs = 3

    @Option(name: .long, help: "Consumers, comma-separated: \(ExecConsumer.Kind.allCases.map(\.rawValue).joined(separator: ",")). All watch the same run.")
    var consumers = "procwatch-json,forkstat"

    @Flag(name: .long, help: "One run per consumer (each with its own reference) instead of all consumers watching the same run.")
    var separately = false

    @Option(name: .long, help: "Forks per forker in the exec storms (exec-storm: two forkers, exec-storm4: four; children exec /bin/true).")
    var execCount = 2000

    @Option(name: .long, help: "The bpftrace executable.")
    var bpftrace = "bpftrace"

    @Option(name: .long, help: "The reference's bpftrace script.")
    var referenceScript = "scripts/exec-argv.bt"

    @Option(name: .long, help: "The workload generator.")
    var workloadScript = "scripts/workload"

    @Option(name: .long, help: "The generator's --dir: generated configure and build directories.")
    var workloadDirectory = "/tmp/procwatch-workload"

    @Option(name: .long, help: "Where to write the JSON report.")
    var json = "bench-storm-fidelity.json"

    @OptionGroup var common: CommonOptions

    @Flag(name: .long, help: "Exit 1 if a run failed, the reference saw no workload exec, a consumer failed or showed none, or the listener count ends raised when it started at zero. Never on shares.")
    var check = false

    func validate() throws {
        guard runs > 0, execCount > 0 else { throw ValidationError("--runs and --exec-count must be positive") }
        for name in workloads.split(separator: ",") where Workload(rawValue: String(name)) == nil {
            throw ValidationError("unknown workload '\(name)'")
        }
        for name in consumers.split(separator: ",") where ExecConsumer.Kind(rawValue: String(name)) == nil {
            throw ValidationError("unknown consumer '\(name)'")
        }
    }

    func run() throws {
        guard geteuid() == 0 else { throw BenchError("fidelity needs root (bpftrace)") }
        let chosenWorkloads = workloads.split(separator: ",").compactMap { Workload(rawValue: String($0)) }
        let chosen = consumers.split(separator: ",").compactMap { ExecConsumer.Kind(rawValue: String($0)) }
            .map { ExecConsumer($0, procwatch: common.procwatch, forkstat: common.forkstat) }
        guard let me = readLink("/proc/self/exe") else { throw BenchError("cannot read /proc/self/exe") }
        let directory = try outputDirectory(keep: common.keep, prefix: "storm-bench-fidelity")
        let setup = Workload.Setup(script: workloadScript, directory: workloadDirectory, forker: me, execStormCount: execCount)
        let runner = FidelityRunner(bpftrace: bpftrace, referenceScript: referenceScript, setup: setup,
                                    outputDirectory: directory, subscribeSeconds: common.subscribeSeconds, keepOutput: common.keep != nil)
        let system = SystemInfo.current()

        var listenerLog: [String] = []
        let start = try Listeners.settledState()
        if start.raised {
            listenerLog.append("at the start: the count is above zero" + (start.live.isEmpty ? " (a leak)" : " (connector sockets \(start.live.map(String.init).joined(separator: ", ")) open)"))
        }

        let groups = separately ? chosen.map { [$0] } : [chosen]
        var results: [FidelityRun] = []
        for workload in chosenWorkloads {
            do {
                try workload.prepare(setup, log: "\(directory)/\(workload.rawValue)-prepare.log")
            } catch {
                printError("\(workload.rawValue): preparing failed: \(error)")
                results.append(FidelityRun(workload: workload, number: 0, failure: "preparing: \(error)"))
                continue
            }
            for number in 1...runs {
                for group in groups {
                    printError("\(workload.rawValue), run \(number)/\(runs): \(group.map(\.label).joined(separator: ", ")) …")
                    let run = runner.run(workload, consumers: group, number: number)
                    for consumer in run.consumers where consumer.consumer.isForkstat && consumer.listened {
                        listenerLog.append("\(workload.rawValue) \(number): " + (try Self.giveBackForkstatLeak()))
                    }
                    for line in FidelityReport.summary(run) { printError("    " + line) }
                    results.append(run)
                }
            }
        }
        if common.keep == nil {
            for workload in chosenWorkloads {
                unlink("\(directory)/\(workload.rawValue)-prepare.log")
                unlink("\(directory)/\(workload.rawValue)-prepare.log.err")
            }
            rmdir(directory)
        }

        let end = try Listeners.settledState()
        let endsRaised = !start.raised && end.raised
        listenerLog.append("at the end: " + (!end.raised ? "nobody listens (count zero)"
            : end.live.isEmpty ? "count above zero, no connector socket open (a leak)"
            : "someone listens (connector sockets \(end.live.map(String.init).joined(separator: ", ")) open)"))

        let report = FidelityReport(system: system, runs: results, settings: settingsDescription(), listenerLog: listenerLog)
        print(report.table())
        try writeText(report.json().rendered() + "\n", to: json)
        print("JSON: \(json)")
        if check {
            let problems = Self.problems(results) + (endsRaised && end.live.isEmpty ? ["the listener count ends raised"] : [])
            for problem in problems { printError("check failed: \(problem)") }
            if !problems.isEmpty { throw ExitCode(1) }
        }
    }

    /// forkstat never sends IGNORE, so each forkstat that listened left the kernel's count one
    /// higher than it found it. Giving back exactly one per such run restores the count
    /// whatever else listens meanwhile, and cannot take it below zero: forkstat's own count
    /// is still in it (unless someone else gave it back already: then the count reads zero
    /// and nothing is done).
    static func giveBackForkstatLeak() throws -> String {
        guard try Listeners.anyoneListening() else {
            return "forkstat listened, yet the count reads zero: nothing given back (someone else released it?)"
        }
        try Listeners.releaseOne()
        return try Listeners.anyoneListening()
            ? "gave back forkstat's leaked count; someone else still listens"
            : "gave back forkstat's leaked count; back to zero"
    }

    /// What `--check` holds a run to: it worked, not how well.
    static func problems(_ runs: [FidelityRun]) -> [String] {
        runs.flatMap { run -> [String] in
            let name = "\(run.workload.rawValue) \(run.number)"
            if let failure = run.failure { return ["\(name): \(failure)"] }
            guard run.execs > 0 else { return ["\(name): the reference saw no exec of the workload"] }
            return run.consumers.compactMap { consumer in
                if let failure = consumer.failure { return "\(name), \(consumer.consumer.label): \(failure)" }
                if (consumer.verdict?.seen ?? 0) == 0 { return "\(name), \(consumer.consumer.label): showed none of the workload's execs" }
                return nil
            }
        }
    }

    func settingsDescription() -> [(String, JSON)] {
        [
            ("workloads", .string(workloads)),
            ("runs", .int(runs)),
            ("consumers", .string(consumers)),
            ("separately", .bool(separately)),
            ("exec_storm_forks_per_forker", .int(execCount)),
        ] + common.settings + [("bpftrace", .string(bpftrace))]
    }
}
