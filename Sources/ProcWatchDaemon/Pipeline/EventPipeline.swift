import Logging
import ProcWatch
import ProcWatchCLI
import ProcWatchFleet
import ProcWatchStore
import ServiceLifecycle
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The daemon's one kernel subscription, top to bottom: the source and its enrichment stage,
/// then for each event the history (every event and process, committed at least every
/// 50 ms), then once per kernel batch every ``DaemonBatchConsumer`` (the clients' hub, the
/// metrics). Runs until the service group shuts down gracefully; then the subscription is
/// released and the recording ended, in that order.
public final class EventPipeline: Service, @unchecked Sendable {
    // @unchecked: `batch` is touched on the reader thread only; the rest is immutable or locked.

    /// Seconds between commits while events arrive: five times `procwatch record`'s, which
    /// cut the daemon's CPU per event in a fork storm by a tenth (79 → 70 ticks for 80,000
    /// events) — each commit rewrites the partly filled pages of every index — for at most
    /// 50 ms more of events lost to `kill -9`.
    public static let commitInterval = 0.05
    /// How long a stopping daemon waits for the sink to write what it holds.
    static let sinkDrainSeconds = 5.0
    /// The kernel-side source's ring buffer (the library's default).
    static let ringBufferBytes = 4 << 20

    /// The source, started by ``start()``.
    public let source: ProcessEventSource
    private let watchers: ProcessWatchers
    private let history: HistoryRecorder
    /// The fleet store, when `sink` is set: the same events as the history, written by its
    /// own task (never by the reader thread).
    private let sink: FleetSink?
    private let consumers: [any DaemonBatchConsumer]
    private let logger: Logger
    private let ownPID = getpid()
    /// What the history keeps as `events` rows (a reload may change it).
    private let recorded: Mutex<EventSelection>
    /// The batch being read, handed to the consumers at its end.
    private var batch: [EnrichedEvent] = []

    /// Prepares the pipeline; nothing is subscribed before ``start()``.
    ///
    /// - Parameters:
    ///   - backend: where events come from (`auto`: the eBPF watchers when they load).
    ///   - recorded: the events the history keeps as `events` rows (every process gets its
    ///     row whatever this says), as `-e` selects them.
    package init(backend: ProcessEventSource.Backend, recorded: EventSelection = .all, history: HistoryRecorder,
                sink: FleetSink? = nil, consumers: [any DaemonBatchConsumer], logger: Logger,
                started: @escaping @Sendable (ProcessEventSource) -> Void = { _ in }) {
        self.started = started
        self.recorded = Mutex(recorded)
        // The live view's ring buffer: its pages count in the daemon's resident memory,
        // and the reader keeps it short (commits and clients are off its thread).
        source = ProcessEventSource(configuration: .init(
            enrichment: .init(readsExecutables: true, exitRecords: .everyExit), backend: backend,
            kernelWatchers: .init(ringBufferBytes: Self.ringBufferBytes), logger: logger))
        watchers = ProcessWatchers(source: source)
        self.history = history
        self.sink = sink
        self.consumers = consumers
        self.logger = logger
        batch.reserveCapacity(256)
        watchers.onEnriched(.all) { [unowned self] enriched in
            // The daemon's own threads come and go: left out, as the live view leaves itself out.
            if let subject = enriched.event.subject, subject.pid == ownPID { return }
            let event = enriched.event
            let stored = event.kind == nil || self.recorded.withLock { $0.shows(event) }
            history.record(enriched, stored: stored)
            sink?.record(enriched, stored: stored)
            batch.append(enriched)
        }
        watchers.onBatchEnd { [unowned self] in
            guard !batch.isEmpty else { return }
            for consumer in consumers { consumer.consume(batch) }
            batch.removeAll(keepingCapacity: true)
            // No commit here: a commit takes milliseconds, in which the kernel's buffer
            // would fill. The ticker commits, off the reader thread.
        }
    }

    /// Records the events `selection` shows from the next event on.
    package func record(_ selection: EventSelection) { recorded.withLock { $0 = selection } }

    /// Called once the kernel acknowledged the subscription (the daemon is ready).
    private let started: @Sendable (ProcessEventSource) -> Void

    /// Subscribes to the kernel (inside the service group, whose SIGTERM and SIGINT
    /// handling is in place by then), then runs until graceful shutdown or until the source
    /// fails; releases the subscription and ends the recording. Throws
    /// ``DaemonError/sourceUnavailable(_:)`` when no source starts.
    public func run() async throws {
        do { try watchers.start() } catch {
            history.finish(reason: "error")
            if let sink { _ = await sink.finish(reason: "error", waitingUpTo: 0) }
            throw DaemonError.sourceUnavailable("procwatch: daemon: \(error)")
        }
        started(source)
        let writer = Task { [sink] in await sink?.run() }
        let ticker = Task {
            // Commits on this timer, off the reader's thread; a quiet stream's last events too.
            while !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(Int(Self.commitInterval * 1000)))
                history.commitIfDue()
            }
        }
        defer { ticker.cancel() }
        // Cancelling the run stops the watchers and returns: on graceful shutdown, and when
        // the service group cancels everything.
        let running = Task { [watchers] in try await watchers.run() }
        var failure: ProcWatchError?
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                do { try await running.value } catch { failure = error as? ProcWatchError }
            } onGracefulShutdown: {
                running.cancel()
            }
        } onCancel: {
            running.cancel()
        }
        watchers.stop()
        let reason = failure == nil ? "signal" : "error"
        history.finish(reason: reason)
        if let sink {
            // What the server cannot take in time stays in the spool files for the next start.
            let unwritten = await sink.finish(reason: reason, waitingUpTo: Self.sinkDrainSeconds)
            await writer.value
            if unwritten > 0 { logger.warning("\(unwritten) events were not written to \(sink.server) (spooled for the next start, or dropped)") }
        }
        if let failure { throw DaemonError.sourceFailed("procwatch: daemon: the event source failed: \(failure)") }
    }
}
