import ArgumentParser
import Dispatch
import ProcWatch
#if canImport(Glibc)
import Glibc
#endif

/// Runs a live view until SIGINT, SIGTERM or the duration ends; shared by the event view
/// and `procwatch stats`.
package enum LiveSession {
    /// Watches; calls `tick` every `tickInterval` seconds while running; returns the view
    /// once the kernel subscription has been released.
    static func watch(
        selection: EventSelection, filter: LiveFilter, format: LiveView.Format, ancestry: Bool, output: LineOutput,
        duration: Double?, realTime: Bool, sourcing: SourceOptions, daemonSelection: () throws(DaemonClientError) -> DaemonSelection,
        tickInterval: Double? = nil, tick: @escaping @Sendable (LiveView) -> Void = { _ in }
    ) async throws -> LiveView {
        // Only the JSON view shows the executable's path: the others skip reading it.
        var showsExecutables = false
        if case .json = format { showsExecutables = true }
        // The views use exit records for names only (their lines show no CPU figures).
        let source = ProcessEventSource(configuration: .init(
            enrichment: .init(readsExecutables: showsExecutables, exitRecords: .names), backend: sourcing.backend,
            kernelWatchers: filter.kernelSelection(), procScan: .init(standsInUnderAuto: sourcing.scannerMayStandIn)))
        let view = LiveView(source: source, selection: selection, filter: filter, format: format,
                            ancestry: ancestry, output: output)
        // Buffered output goes out however the watch ends.
        defer { output.flush() }
        let feed = try sourcing.feed(source: source, selection: daemonSelection)
        try await run(feed: feed, kinds: selection.subscription, handle: { view.handle($0) }, batchEnded: { output.flush() },
                      duration: duration, realTime: realTime, tickInterval: tickInterval, tick: { tick(view) }, started: {
                          view.markStarted()
                          if case .text(let renderer) = format { output.write(renderer.header) }
                          output.flush()
                      }, ended: { view.markEnded() }, connectedToDaemon: { view.filtersInDaemon() })
        return view
    }

    /// Subscribes to `kinds` on `source`, calls `handle` for each enriched event on the
    /// reader thread and `tick` every `tickInterval` seconds, until SIGINT, SIGTERM,
    /// `duration` or `stop` fires; returns once the kernel subscription has been released.
    /// Once the source has started, ``SourceAnnouncement`` hears of it (before `started`).
    package static func run(
        source: ProcessEventSource, kinds: ProcessEventKinds, handle: @escaping @Sendable (EnrichedEvent) -> Void,
        batchEnded: @escaping @Sendable () -> Void = {}, duration: Double?, realTime: Bool,
        tickInterval: Double? = nil, tick: @escaping @Sendable () -> Void = {}, stop: StopSignal = StopSignal(),
        started: () throws -> Void = {}, ended: @escaping @Sendable () -> Void = {}
    ) async throws {
        try await run(feed: .kernel(source, daemonIfRefused: nil), kinds: kinds, handle: handle, batchEnded: batchEnded,
                      duration: duration, realTime: realTime, tickInterval: tickInterval, tick: tick, stop: stop,
                      started: started, ended: ended)
    }

    /// ``run(source:kinds:handle:batchEnded:duration:realTime:tickInterval:tick:stop:started:ended:)``
    /// from either feed. From the daemon, `connectedToDaemon` is called once it accepted the
    /// selection (before `started`): the daemon filters, and every event it sends goes to
    /// `handle`, `lost` ones included.
    package static func run(
        feed: EventFeed, kinds: ProcessEventKinds, handle: @escaping @Sendable (EnrichedEvent) -> Void,
        batchEnded: @escaping @Sendable () -> Void = {}, duration: Double?, realTime: Bool,
        tickInterval: Double? = nil, tick: @escaping @Sendable () -> Void = {}, stop: StopSignal = StopSignal(),
        started: () throws -> Void = {}, ended: @escaping @Sendable () -> Void = {}, connectedToDaemon: () -> Void = {}
    ) async throws {
        // Signal handling is in place before the subscription starts: a SIGINT that arrived
        // between the two would otherwise be ignored and the watch would never end.
        let signals = TerminationSignals.watch(stop)
        defer { signals?.cancel() }

        let active: ActiveFeed
        switch feed {
        case .daemon(let request):
            let client = try request.connect()
            FileHandleOutput.standardError("procwatch: \(client.sourceLine(reason: nil))")
            active = .daemon(client)
        case .kernel(let source, let daemonIfRefused):
            let watchers = ProcessWatchers(source: source)
            watchers.onEnriched(kinds) { handle($0) }
            watchers.onBatchEnd(batchEnded)
            do {
                try watchers.start()
                SourceAnnouncement.sourceStarted(source)
                active = .kernel(watchers)
            } catch {
                // The kernel refused this user (another network namespace, an old kernel
                // without CAP_NET_ADMIN): a daemon that serves the host can still answer.
                guard let daemon = daemonIfRefused, daemon.socketExists else {
                    FileHandleOutput.standardError("procwatch: \(error)")
                    throw ExitCode(2)
                }
                let client = try daemon.connect()
                FileHandleOutput.standardError("procwatch: \(client.sourceLine(reason: "the kernel refused this user's subscription: \(error)"))")
                active = .daemon(client)
            }
        }
        if case .daemon = active { connectedToDaemon() }
        if realTime {
            do { try RealTimeScheduling.enable() } catch {
                active.stop()
                FileHandleOutput.standardError("procwatch: -r: \(error)")
                throw ExitCode(2)
            }
        }
        do { try started() } catch {
            active.stop()
            throw error
        }

        let running = Task { try await active.run(handle: handle, batchEnded: batchEnded) }
        // The watch ends when the stop fires: releasing the subscription afterwards
        // (detaching the BPF programs takes a while) is not part of the run's length.
        stop.onFire {
            ended()
            active.interrupt(running)
        }
        if let duration {
            Task {
                try? await Task.sleep(for: .milliseconds(Int(duration * 1000)))
                stop.fire()
            }
        }
        let ticker = tickInterval.map { interval in
            Task {
                while !Task.isCancelled {
                    try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
                    tick()
                }
            }
        }
        defer { ticker?.cancel() }
        do {
            try await running.value
        } catch let failure as DaemonClientError {
            FileHandleOutput.standardError("procwatch: \(failure)")
            throw ExitCode(failure.exitStatus)
        } catch {
            FileHandleOutput.standardError("procwatch: \(error)")
            throw ExitCode(2)
        }
        ended()  // ended by itself (no stop fired): now
        active.stop()
    }
}

/// The feed a watch runs on, once started.
private enum ActiveFeed: Sendable {
    case kernel(ProcessWatchers)
    case daemon(DaemonClient)

    /// Delivers events until stopped or failed. The daemon's lines are read on a thread of
    /// their own, as the kernel source's reader does: a blocking read must not hold one of
    /// the cooperative pool's threads.
    func run(handle: @escaping @Sendable (EnrichedEvent) -> Void, batchEnded: @escaping @Sendable () -> Void) async throws {
        switch self {
        case .kernel(let watchers): try await watchers.run()
        case .daemon(let client):
            let result = await ReaderThread.offPool { () -> DaemonClientError? in
                do throws(DaemonClientError) { try client.stream(handle: { handle($0.enriched) }, batchEnded: batchEnded) } catch {
                    return error
                }
                return nil
            }
            if let result { throw result }
        }
    }

    /// Ends ``run(handle:batchEnded:)`` (a stop, not a failure).
    func interrupt(_ running: Task<Void, any Error>) {
        switch self {
        case .kernel: running.cancel()
        case .daemon(let client): client.stop()
        }
    }

    /// Releases the kernel subscription, or the connection.
    func stop() {
        switch self {
        case .kernel(let watchers): watchers.stop()
        case .daemon(let client): client.stop()
        }
    }
}
