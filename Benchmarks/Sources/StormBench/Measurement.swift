import Glibc

/// One consumer through one storm.
struct Measurement {
    var storm: Storm
    var consumer: Consumer
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
}

/// Runs one consumer through one storm: start it, let it subscribe, run the forkers, wait
/// until it has caught up, stop it with SIGINT, collect its rusage and read its output.
struct MeasurementRunner {
    var forkerExecutable: String
    var outputDirectory: String
    var subscribeSeconds: Double
    var keepOutput: Bool

    func measure(_ storm: Storm, with consumer: Consumer, index: Int) -> Measurement {
        var result = Measurement(storm: storm, consumer: consumer)
        let base = "\(outputDirectory)/\(index)-\(consumer.kind.rawValue)"
        let stdoutPath = base + ".out"
        let stderrPath = base + ".err"
        defer {
            if !keepOutput {
                unlink(stdoutPath)
                unlink(stderrPath)
            }
        }

        let pid: pid_t
        do {
            pid = try spawn(consumer.argv, stdout: .file(stdoutPath), stderr: .file(stderrPath))
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
        result.peakRSSKiB = peakRSSKiB(of: pid)
        let (termination, problem) = stopGently(pid)
        result.termination = termination
        if let problem { result.failure = problem }
        if !termination.exitedCleanly, result.failure == nil {
            result.failure = "ended with \(termination.description): " + readText(stderrPath).trimmingCharacters
        }
        if result.failure == nil || result.children > 0 {
            result.observation = consumer.parse(stdout: stdoutPath, storm: storm, forkers: Set(result.forkerPIDs))
        }
        return result
    }
}
