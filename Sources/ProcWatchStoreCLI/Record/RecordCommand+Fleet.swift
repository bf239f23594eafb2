import ArgumentParser
import Logging
import ProcWatch
import ProcWatchCLI
import ProcWatchFleet
import ProcWatchStore
#if canImport(Glibc)
import Glibc
#endif

extension RecordCommand {
    /// `record --to URL`: the same events into the fleet store, spooled in memory while the
    /// server is away. A bad URL or a password on the command line: one line, exit 64; a
    /// server that cannot be used (unreachable, a refused password, another program's
    /// database, a newer schema): one line, exit 69 (EX_UNAVAILABLE, as for the daemon's
    /// sink). At the end it waits up to ``sinkDrainSeconds`` for the server and says how
    /// many events could not be written (exit 69 then).
    func recordToFleet(_ text: String, session: RecordingSession, source: ProcessEventSource, selection: EventSelection,
                       filter: LiveFilter, arguments: [String]) async throws {
        let logger = Logger(label: "procwatch.record") { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let connector: FleetConnector
        do {
            let url = try FleetURL(parsing: text)
            let password = try FleetCredentials.password(for: url, origin: .commandLine) { FileHandleOutput.standardError("procwatch: \($0)") }
            connector = FleetConnector(url: url, password: password, logger: logger)
        } catch {
            FileHandleOutput.standardError("procwatch: record: \(error)")
            throw ExitCode(64)
        }
        let sink = FleetSink(connector: connector, host: LocalMachine.current(procwatchVersion: ProcWatchVersion.number), session: session,
                             limits: FleetSpoolLimits(directory: nil), logger: logger)
        do { try await sink.start() } catch {
            FileHandleOutput.standardError("procwatch: record: \(error)")
            throw ExitCode(69)
        }
        let writer = Task { await sink.run() }
        let pipeline = RecordPipeline(recorder: sink, selection: selection, filter: filter, ownPID: getpid(),
                                      recordsCommand: !arguments.isEmpty)
        let stop = StopSignal()
        let commandRun = CommandRun()
        let started = Clocks.monotonicSeconds()
        var failed: ExitCode?
        do {
            try await LiveSession.run(
                source: source, kinds: selection.bookkeepingSubscription, handle: { pipeline.handle($0) },
                batchEnded: {}, duration: root.duration, realTime: false, tickInterval: Self.commitInterval, tick: {}, stop: stop,
                started: { try Self.startCommand(arguments, commandRun: commandRun, pipeline: pipeline, stop: stop) })
        } catch let exit as ExitCode {
            failed = exit
        }
        let ran = commandRun.state.withLock { $0 }
        var reason = failed == nil ? "signal" : "error"
        if failed == nil, ran.status != nil {
            reason = "command"
        } else if failed == nil, let duration = root.duration, Clocks.monotonicSeconds() - started >= duration - 0.05 {
            reason = "duration"
        }
        let unwritten = await sink.finish(reason: reason, waitingUpTo: Self.sinkDrainSeconds)
        await writer.value
        if let failed { throw failed }
        if unwritten > 0 {
            FileHandleOutput.standardError("procwatch: record: \(unwritten) events could not be written to \(sink.server)")
            throw ExitCode(69)
        }
        try Self.exitAsTheCommandDid(ran.status)
    }
}
