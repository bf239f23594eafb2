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
        duration: Double?, realTime: Bool, backend: ProcessEventSource.Backend, tickInterval: Double? = nil,
        tick: @escaping @Sendable (LiveView) -> Void = { _ in }
    ) async throws -> LiveView {
        // Only the JSON view shows the executable's path: the others skip reading it.
        var showsExecutables = false
        if case .json = format { showsExecutables = true }
        // The views use exit records for names only (their lines show no CPU figures).
        let source = ProcessEventSource(configuration: .init(
            enrichment: .init(readsExecutables: showsExecutables, exitRecords: .names), backend: backend,
            kernelWatchers: filter.kernelSelection()))
        let view = LiveView(source: source, selection: selection, filter: filter, format: format,
                            ancestry: ancestry, output: output)
        // Buffered output goes out however the watch ends.
        defer { output.flush() }
        try await run(source: source, kinds: selection.subscription, handle: { view.handle($0) }, batchEnded: { output.flush() },
                      duration: duration, realTime: realTime, tickInterval: tickInterval, tick: { tick(view) }, started: {
                          view.markStarted()
                          if case .text(let renderer) = format { output.write(renderer.header) }
                          output.flush()
                      }, ended: { view.markEnded() })
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
        // Signal handling is in place before the subscription starts: a SIGINT that arrived
        // between the two would otherwise be ignored and the watch would never end.
        let signals = TerminationSignals.watch(stop)
        defer { signals?.cancel() }

        let watchers = ProcessWatchers(source: source)
        watchers.onEnriched(kinds) { handle($0) }
        watchers.onBatchEnd(batchEnded)
        do {
            try watchers.start()
        } catch {
            FileHandleOutput.standardError("procwatch: \(error)")
            throw ExitCode(2)
        }
        SourceAnnouncement.sourceStarted(source)
        if realTime {
            do { try RealTimeScheduling.enable() } catch {
                watchers.stop()
                FileHandleOutput.standardError("procwatch: -r: \(error)")
                throw ExitCode(2)
            }
        }
        do { try started() } catch {
            watchers.stop()
            throw error
        }

        let running = Task { try await watchers.run() }
        // The watch ends when the stop fires: releasing the subscription afterwards
        // (detaching the BPF programs takes a while) is not part of the run's length.
        stop.onFire {
            ended()
            running.cancel()
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
        } catch {
            FileHandleOutput.standardError("procwatch: \(error)")
            throw ExitCode(2)
        }
        ended()  // ended by itself (no stop fired): now
        watchers.stop()
    }
}
