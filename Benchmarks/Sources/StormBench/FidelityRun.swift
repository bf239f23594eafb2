import Glibc

/// One run of a workload, watched at the same time by the bpftrace reference and one or
/// more consumers.
struct FidelityRun {
    var workload: Workload
    var number: Int
    var workloadSeconds = 0.0
    /// The 1-minute load average as the run started: the machine is shared, and its other
    /// work competes with the consumers for the same cores.
    var loadAverage: Double?
    /// bpftrace's user+sys from the workload's start to its stop (it competes with the consumers too).
    var referenceCPUSeconds: Double?
    /// The reference's workload execs, and those whose argv it read.
    var execs = 0
    var withArgv = 0
    /// Workload execs whose argv block was longer than the reference sends (compared as a prefix).
    var truncated = 0
    var consumers: [ConsumerRun] = []
    var failure: String?
    var notes: [String] = []

    var execRate: Double { workloadSeconds > 0 ? Double(execs) / workloadSeconds : 0 }

    struct ConsumerRun {
        var consumer: ExecConsumer
        var verdict: CommandLineJudge.Verdict?
        var lost: Int?
        var cpuSeconds: Double?
        /// It printed exec lines, so it subscribed (forkstat: and leaked the listener count).
        var listened = false
        var failure: String?
    }
}

/// Runs one workload under the reference and the consumers: reference first, consumers
/// next, a start sentinel, the workload, the consumers caught up and stopped, an end
/// sentinel through the reference, then the judging.
struct FidelityRunner {
    var bpftrace: String
    var referenceScript: String
    var setup: Workload.Setup
    var outputDirectory: String
    var subscribeSeconds: Double
    var keepOutput: Bool

    func run(_ workload: Workload, consumers: [ExecConsumer], number: Int) -> FidelityRun {
        var result = FidelityRun(workload: workload, number: number)
        result.loadAverage = readText("/proc/loadavg").split(separator: " ").first.flatMap { Double($0) }
        let base = "\(outputDirectory)/\(workload.rawValue)-\(number)"
        var files: [String] = []
        defer { if !keepOutput { files.forEach { unlink($0) } } }

        let reference: ExecReference
        do {
            reference = try ExecReference.start(bpftrace: bpftrace, script: referenceScript, outputBase: base + "-reference")
        } catch {
            result.failure = "reference: \(error)"
            return result
        }
        files += [reference.outputPath, reference.errorPath]
        var referenceRunning = true
        defer { if referenceRunning { _ = reference.stop() } }

        var started: [(index: Int, pid: pid_t, output: String, errors: String)] = []
        result.consumers = consumers.map { FidelityRun.ConsumerRun(consumer: $0) }
        for (index, consumer) in consumers.enumerated() {
            let output = "\(base)-\(consumer.kind.rawValue).out"
            let errors = "\(base)-\(consumer.kind.rawValue).err"
            files += [output, errors]
            do {
                started.append((index, try spawn(consumer.argv, stdout: .file(output), stderr: .file(errors)), output, errors))
            } catch {
                result.consumers[index].failure = "\(error)"
            }
        }
        sleepSeconds(subscribeSeconds)
        started.removeAll { consumer in
            guard let early = waitFor(consumer.pid, timeout: 0) else { return false }
            result.consumers[consumer.index].failure = "exited before the workload (\(early.description)): " + readText(consumer.errors).trimmingCharacters
            return true
        }

        // The consumers listen now, so the kernel must be sending: if not, its listener count
        // was taken below the live listeners (someone gave back a count nobody leaked) and
        // every consumer would show nothing.
        if !started.isEmpty, (try? Listeners.anyoneListening()) == false {
            result.failure = "the kernel sends no process events although the consumers listen: its listener count is below zero "
                + "(someone gave back a count nobody leaked); `storm-bench listeners --restore-zero 10` repairs it once no connector socket is open"
        }

        let mark = "storm-bench-fidelity-start-\(getpid())-\(number)"
        var startSentinel: pid_t = 0
        if result.failure == nil {
            do {
                startSentinel = try spawn(["/bin/true", mark], stdout: .devNull, stderr: .devNull)
                _ = waitFor(startSentinel)
                try reference.waitForExec(of: startSentinel)
            } catch {
                result.failure = "start sentinel: \(error)"
            }
        }

        let workloadLog = base + "-workload.log"
        files += [workloadLog, workloadLog + ".err"]
        let windowStart = monotonicNanoseconds()
        let referenceTicksAtStart = cpuTicks(of: reference.pid)
        if result.failure == nil {
            do { try workload.run(setup, log: workloadLog) } catch { result.failure = "workload: \(error)" }
        }
        let windowEnd = monotonicNanoseconds()
        result.workloadSeconds = Double(windowEnd - windowStart) / 1e9

        // Each consumer catches up (its CPU time stops moving), then is stopped as a user would.
        for consumer in started { _ = waitUntilIdle(consumer.pid) }
        if result.failure == nil, !started.isEmpty, (try? Listeners.anyoneListening()) == false {
            result.notes.append("by the workload's end the kernel sent no process events although the consumers still listened: "
                + "someone took its listener count below zero during the run, and the consumers missed what followed")
        }
        for consumer in started {
            let (termination, problem) = stopGently(consumer.pid)
            result.consumers[consumer.index].cpuSeconds = termination.cpuSeconds
            // forkstat ends on SIGINT with status 0; procwatch too.
            if let problem { result.consumers[consumer.index].failure = problem }
            else if !termination.exitedCleanly {
                result.consumers[consumer.index].failure = "ended with \(termination.description): " + readText(consumer.errors).trimmingCharacters
            }
        }

        do {
            let endSentinel = try spawn(["/bin/true", "storm-bench-fidelity-end"], stdout: .devNull, stderr: .devNull)
            _ = waitFor(endSentinel)
            try reference.waitForExec(of: endSentinel)
        } catch {
            result.notes.append("the reference did not show the end sentinel (\(error)): it may miss the workload's last execs")
        }
        // Its CPU from the workload's start on: compiling and loading the script before costs
        // about a second and competes with nobody.
        if let before = referenceTicksAtStart, let after = cpuTicks(of: reference.pid) {
            result.referenceCPUSeconds = Double(after - before) / Double(sysconf(Int32(_SC_CLK_TCK)))
        }
        let (ended, problem) = reference.stop()
        referenceRunning = false
        if let problem { result.notes.append("reference: \(problem)") }
        if !ended.exitedCleanly { result.notes.append("reference ended with \(ended.description)") }
        result.notes += reference.errors.map { "bpftrace: \($0)" }

        let log = ReferenceLog(readBytes(reference.outputPath) ?? [], bootToMonotonic: bootToMonotonicNanoseconds())
        if log.lostEvents > 0 { result.notes.append("bpftrace lost \(log.lostEvents) events (perf buffer full)") }
        let root = Int(getpid())
        let startTime = log.execs.last { $0.pid == Int(startSentinel) && $0.time < windowStart }?.time ?? windowStart
        let judge = CommandLineJudge(reference: log, root: root, window: windowStart...windowEnd, startTime: startTime)
        result.execs = judge.workloadExecs
        result.withArgv = judge.workloadWithArgv
        result.truncated = judge.workloadTruncated
        let unrooted = log.execs.filter { (windowStart...windowEnd).contains($0.time) && !$0.ancestors.contains(root) && $0.ancestors.count >= 16 }.count
        if unrooted > 0 {
            result.notes.append("\(unrooted) execs in the window have 16 recorded ancestors none of which is storm-bench: deeper descendants would be missed")
        }

        for consumer in started {
            let view = consumers[consumer.index].parse(readBytes(consumer.output) ?? [])
            var run = result.consumers[consumer.index]
            run.listened = !view.execs.isEmpty
            run.lost = view.lost
            run.verdict = judge.judge(view, byKernelTime: consumers[consumer.index].hasKernelTime,
                                      startSentinel: (Int(startSentinel), mark))
            result.consumers[consumer.index] = run
        }
        return result
    }
}
