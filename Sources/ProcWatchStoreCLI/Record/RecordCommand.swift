import ArgumentParser
import ProcWatch
import ProcWatchCLI
import ProcWatchStore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `procwatch record -o FILE.db`: every event, process and job, kept in SQLite.
struct RecordCommand: AsyncParsableCommand {
    static let configuration = StoreCommandConfigurations.record

    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("The SQLite file to write (created, or appended to). Example: -o run.db", valueName: "FILE"))
    var output: String?

    @Option(name: .long, help: ArgumentHelp("Record into this PostgreSQL fleet store instead of a file (the password from PGPASSWORD or ~/.pgpass). Example: --to postgresql://procwatch@db.example/procwatch", valueName: "URL"))
    var to: String?

    /// `-D`, the selection options (`-e`, `--pid`, `--tree`, `--comm`, `--user`) and `--source`
    /// are the root command's (an option both declared would be parsed into the root's), as
    /// for the live view.
    @ParentCommand var root: ProcWatchCommand

    @Argument(parsing: .postTerminator, help: ArgumentHelp("A command to run and record, after --. Example: -- make -j2", valueName: "COMMAND"))
    var command: [String] = []

    func validate() throws {
        try root.rejectOptions(notUsedBy: "record", used: ["-D", "-e", "-E", "--pid", "--tree", "--comm", "--user", "--cgroup", "--container", "--include-self", "--source"])
        guard (output == nil) != (to == nil) else {
            throw ValidationError(output == nil ? "record needs -o FILE or --to URL" : "-o and --to both name where to record: use one")
        }
    }

    /// How long `record --to` waits at its end for the server to take what it holds.
    static let sinkDrainSeconds = 30.0

    /// Seconds between commits while events arrive.
    static let commitInterval = 0.01

    /// What `record` says when the file already holds recordings (a report then spans them
    /// all unless told which one), or nil for a new file.
    static func appendingNotice(path: String, earlier: [Int64], this recording: Int64) -> String? {
        guard !earlier.isEmpty else { return nil }
        let held = earlier.count == 1 ? "1 earlier recording" : "\(earlier.count) earlier recordings"
        return "procwatch: \(path) holds \(held): appending this one as #\(recording)"
            + " (`procwatch report \(path) --recording \(recording)`, or --last, reports it alone)"
    }

    func run() async throws {
        let selecting = root.selecting
        let duration = root.duration
        var arguments = command
        if arguments.first == "--" { arguments.removeFirst() }
        let selection = try selecting.selection()
        let filter = try selecting.filter()
        // In the kernel (BPF source): the filters' processes and user, and with a command only
        // the tree this process starts (its own events are left out later, by the pipeline).
        var kernelSelection = filter.kernelSelection(descendantsOfPID: true)
        if !arguments.isEmpty {
            kernelSelection.followedProcesses = [getpid()]
            kernelSelection.followsDescendants = true
        }
        let source = ProcessEventSource(configuration: .init(backend: root.sourcing.backend, kernelWatchers: kernelSelection))
        // The recording says up front whether it has CPU, memory and I/O figures: the
        // enrichment stage reads exit records only when the kernel lets us register for them.
        let exitRecords = (try? TaskstatsListener()).map { $0.close() } != nil
        let session = RecordingSession(arguments: Array(CommandLine.arguments.dropFirst()),
                                       command: arguments.isEmpty ? nil : arguments,
                                       filters: selecting.described, taskstats: exitRecords)
        guard let output else {
            return try await recordToFleet(to ?? "", session: session, source: source, selection: selection, filter: filter,
                                           arguments: arguments)
        }
        let recorder: Recorder
        do { recorder = try Recorder(path: output, session: session) } catch {
            FileHandleOutput.standardError("procwatch: \(error)")
            throw ExitCode(64)
        }
        if let notice = Self.appendingNotice(path: output, earlier: recorder.earlierRecordings, this: recorder.recording) {
            FileHandleOutput.standardError(notice)
        }
        let pipeline = RecordPipeline(recorder: recorder, selection: selection, filter: filter,
                                      ownPID: getpid(), recordsCommand: !arguments.isEmpty)
        let stop = StopSignal()
        let commandRun = CommandRun()
        let started = Clocks.monotonicSeconds()
        do {
            try await LiveSession.run(
                source: source, kinds: selection.bookkeepingSubscription, handle: { pipeline.handle($0) },
                // Committed at the end of a batch once the last commit is 10 ms old, and by the
                // ticker (every 10 ms, a quiet stream's last batch) likewise: kill -9 loses at
                // most the events received in the last 20 ms or so. The ticker skipping a
                // recent commit keeps a storm's commits on the reader thread, about 100 a
                // second instead of up to twice that on two threads.
                batchEnded: {
                    if (try? recorder.flush(ifOlderThan: Self.commitInterval)) == nil { stop.fire() }
                },
                duration: duration, realTime: false,
                tickInterval: Self.commitInterval, tick: { if (try? recorder.flush(ifOlderThan: Self.commitInterval)) == nil { stop.fire() } }, stop: stop,
                started: { try Self.startCommand(arguments, commandRun: commandRun, pipeline: pipeline, stop: stop) })
        } catch let exit as ExitCode {
            // The command could not start (127), or the source could not (2: e.g. --source
            // bpf refused): the recording ends here, marked as such.
            _ = try? recorder.finish(reason: "error")
            throw exit
        }
        let ran = commandRun.state.withLock { $0 }
        var reason = "signal"
        if recorder.failure != nil {
            reason = "error"
        } else if ran.status != nil {
            reason = "command"
        } else if let duration, Clocks.monotonicSeconds() - started >= duration - 0.05 {
            reason = "duration"
        }
        var job: RecordedJob?
        if ran.pid != 0, let snapshot = pipeline.jobSnapshot {
            let root = snapshot.members.first { $0.pid == ran.pid }
            job = RecordedJob(command: arguments, rootPID: ran.pid, start: root?.start ?? ran.start, end: root?.end,
                              waitStatus: ran.status.map { UInt32(bitPattern: $0) }, members: snapshot.members)
        }
        do { try recorder.finish(reason: reason, job: job) } catch {
            FileHandleOutput.standardError("procwatch: \(error)")
            throw ExitCode(1)
        }
        try Self.exitAsTheCommandDid(ran.status)
    }

    /// Exits with the recorded command's status (128 + N when a signal N killed it), if it ran.
    static func exitAsTheCommandDid(_ status: Int32?) throws {
        guard let status else { return }
        switch ExitStatus(waitStatus: UInt32(bitPattern: status)) {
        case .exited(let code): throw ExitCode(code)
        case .signaled(let signal, _): throw ExitCode(128 + signal)
        }
    }

    /// Starts the recorded command (nothing without one), and when it has been reaped and
    /// its exit event arrived (or 2 s passed), fires `stop`. Throws exit 127 when it cannot start.
    static func startCommand(_ arguments: [String], commandRun: CommandRun, pipeline: RecordPipeline, stop: StopSignal) throws {
        guard !arguments.isEmpty else { return }
        let start = Clocks.monotonicNanoseconds()
        let child: Int32
        do { child = try CommandSpawner.spawn(arguments) } catch {
            FileHandleOutput.standardError("procwatch: record: \(arguments[0]): \(error)")
            throw ExitCode(127)
        }
        commandRun.state.withLock { $0 = (child, start, nil) }
        Task {
            let status = await ReaderThread.offPool {
                var status: Int32 = 0
                while waitpid(child, &status, 0) == -1, errno == EINTR {}
                return status
            }
            commandRun.state.withLock { $0.status = status }
            // The exit event was sent before the child could be reaped: let it arrive.
            let deadline = Clocks.monotonicSeconds() + 2
            while Clocks.monotonicSeconds() < deadline,
                  pipeline.jobSnapshot?.members.contains(where: { $0.pid == child && $0.end != nil }) != true {
                try? await Task.sleep(for: .milliseconds(10))
            }
            stop.fire()
        }
    }
}

/// The recorded command: its pid, when it was started, and its wait status once reaped.
final class CommandRun: Sendable {
    let state = Mutex<(pid: Int32, start: UInt64, status: Int32?)>((0, 0, nil))
}
