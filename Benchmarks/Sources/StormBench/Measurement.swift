import Glibc

/// One consumer through one storm.
struct Measurement {
    var storm: Storm
    var consumer: Consumer
    /// Its place among the run's consumer runs (1-based).
    var runIndex = 0
    /// The consumer's command line in this run.
    var command: [String] = []
    var forkerPIDs: [Int] = []
    /// Children the forkers made (ground truth).
    var children = 0
    var stormSeconds = 0.0
    /// Seconds the consumer kept using CPU after the storm ended.
    var busyAfterStorm = 0.0
    var idleTimedOut = false
    /// VmHWM just before SIGINT.
    var peakRSSKiB: Int?
    var termination: Termination?
    var observation: Observation?
    /// What happened to the kernel's listener count, when something did.
    var listenerNote: String?
    var failure: String?
    /// The storm's rate with no consumer at all, from the baseline runs next to this one.
    var baselineRate: Double?

    var expected: Int { children * storm.eventsPerChild }
    var received: Int? { observation?.received(in: storm) }
    var cpuSeconds: Double? { termination?.cpuSeconds }
    /// CPU seconds per 100k events handled (storm and background).
    var cpuPer100k: Double? {
        guard let cpu = cpuSeconds, let handled = observation?.handled, handled > 0 else { return nil }
        return cpu / Double(handled) * 100_000
    }
    /// Share of the exec storm's children whose exit was named `true`.
    var namedShare: Double? {
        guard storm.exec != nil, let named = observation?.namedTrue, children > 0 else { return nil }
        return Double(named) / Double(children)
    }
    var peakRSSMiB: Double? { peakRSSKiB.map { Double($0) / 1024 } }
    var stormRate: Double { stormSeconds > 0 ? Double(children) / stormSeconds : 0 }
    /// The consumer's user and system CPU seconds from the storm's start until it caught up
    /// (/proc/PID/stat, clock ticks): its start-up (loading BPF programs, subscribing) left out.
    var stormCPU: (user: Double, system: Double)?
    /// The consumer's CPU seconds over the same span from the scheduler's per-thread sums
    /// (exact; nil when a thread ended in between and took its sum with it).
    var stormRuntime: Double?
    /// The consumer's CPU (user+sys) during the storm per child of the storm, in µs: the
    /// scheduler's sum, else clock ticks.
    var cpuMicrosecondsPerChild: Double? { perChild(stormRuntime ?? stormCPU.map { $0.user + $0.system }) }
    /// The same, user time only.
    var userMicrosecondsPerChild: Double? { perChild(stormCPU?.user) }
    /// The storm's rate as a share of its rate with no consumer (1 = no slower).
    var shareOfBaseline: Double? {
        guard let baselineRate, baselineRate > 0, children > 0 else { return nil }
        return stormRate / baselineRate
    }

    private func perChild(_ seconds: Double?) -> Double? {
        guard let seconds, children > 0 else { return nil }
        return seconds / Double(children) * 1e6
    }
}

/// Runs one consumer through one storm: start it, let it subscribe, run the forkers, wait
/// until it has caught up, stop it with SIGINT, collect its rusage and read its output.
struct MeasurementRunner {
    var forkerExecutable: String
    var outputDirectory: String
    var subscribeSeconds: Double
    var keepOutput: Bool

    func measure(_ storm: Storm, with consumer: Consumer, index: Int) -> Measurement {
        var result = Measurement(storm: storm, consumer: consumer, runIndex: index)
        let base = "\(outputDirectory)/\(index)-\(consumer.kind.rawValue)"
        let stdoutPath = base + ".out"
        let stderrPath = base + ".err"
        defer {
            if !keepOutput {
                for path in [stdoutPath, stderrPath] + consumer.extraFiles(outputBase: base) { unlink(path) }
            }
        }

        result.command = consumer.commandLine(outputBase: base)
        let pid: pid_t
        do {
            pid = try spawn(result.command, stdout: .file(stdoutPath), stderr: .file(stderrPath))
        } catch {
            result.failure = "\(error)"
            return result
        }
        sleepSeconds(subscribeSeconds)
        if let early = waitFor(pid, timeout: 0) {
            result.termination = early
            result.failure = "exited before the storm (\(early.description)): " + readText(stderrPath).trimmingCharacters
            return result
        }

        let timesBefore = cpuTimes(of: pid)
        let runtimesBefore = threadRuntimes(of: pid)
        do {
            let start = monotonicNow()
            let (pids, children) = try storm.runForkers(executable: forkerExecutable)
            result.stormSeconds = monotonicNow() - start
            result.forkerPIDs = pids.map(Int.init)
            result.children = children
        } catch {
            result.failure = "forkers: \(error)"
        }

        (result.busyAfterStorm, result.idleTimedOut) = waitUntilIdle(pid)
        if let before = timesBefore, let after = cpuTimes(of: pid) {
            let tick = Double(sysconf(Int32(_SC_CLK_TCK)))
            result.stormCPU = (Double(after.user - before.user) / tick, Double(after.system - before.system) / tick)
        }
        if let before = runtimesBefore, let after = threadRuntimes(of: pid), before.keys.allSatisfy({ after[$0] != nil }) {
            result.stormRuntime = Double(after.values.reduce(0, +) - before.values.reduce(0, +)) / 1e9
        }
        result.peakRSSKiB = peakRSSKiB(of: pid)
        let (termination, problem) = stopGently(pid)
        result.termination = termination
        if let problem { result.failure = problem }
        if !termination.exitedCleanly, result.failure == nil {
            result.failure = "ended with \(termination.description): " + readText(stderrPath).trimmingCharacters
        }
        if result.failure == nil || result.children > 0 {
            result.observation = consumer.parse(outputBase: base, stdout: stdoutPath, storm: storm, forkers: Set(result.forkerPIDs))
        }
        return result
    }
}
