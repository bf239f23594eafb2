#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The proc connector standing in for the kinds whose BPF programs did not load or attach
/// (``BackendChoice/missingKinds``): a connector session of its own, filtered in the kernel
/// (6.6+) to those kinds, whose reader thread queues its events for the kernel-side reader.
/// That reader merges them into its own batches by kernel timestamp, so the enrichment
/// stage and every consumer see one stream.
///
/// Ordering: within one batch of the kernel-side reader, events of both sources are in
/// kernel-timestamp order (each source's own order kept). A connector event that reaches
/// its queue after the batch it belongs to was handed on comes in the next batch, behind
/// BPF events up to one poll interval later; the connector's reader wakes the kernel-side
/// reader at once after each of its reads to keep that rare.
final class ConnectorFallback: Sendable {
    /// The kinds it stands in for (kernel kinds only: `exec_failed` has no connector event).
    let kinds: ProcessEventKinds
    /// The connector's consumer: it queues every event it is handed.
    let subscriber: EventSubscriber
    /// The connector session (set once it started).
    private let connector = Mutex<(any SourceSession)?>(nil)
    private let queue = Queue()

    /// What the connector's reader hands over (a class: the subscriber's closures share it).
    private final class Queue: Sendable {
        let events = Mutex<[ProcessEvent]>([])
        /// Whether the current connector read queued anything (its end then wakes the reader).
        let filled = Atomic<Bool>(false)
    }

    /// - Parameter wake: called after each connector read that queued something (wakes
    ///   the kernel-side reader).
    init(kinds: ProcessEventKinds, wake: @escaping @Sendable () -> Void) {
        self.kinds = kinds
        let queue = self.queue
        subscriber = EventSubscriber(
            id: 0, kinds: kinds,
            deliver: { enriched in
                queue.events.withLock { $0.append(enriched.event) }
                queue.filled.store(true, ordering: .relaxed)
            },
            batchEnded: { if queue.filled.exchange(false, ordering: .relaxed) { wake() } },
            // A failure of the connector's reader reaches the source through the session.
            finish: { _ in })
    }

    /// Takes the session that reads for it.
    func started(_ session: any SourceSession) { connector.withLock { $0 = session } }

    /// The consumers now want `wanted`: the connector's kinds follow (its kernel filter is
    /// `mask(subscriber)`, decided by the source).
    func want(_ wanted: ProcessEventKinds, mask: (EventSubscriber) -> UInt32) {
        var kinds = wanted.intersection(self.kinds)
        // `.failedExit` is a filter bit: it stands in with the exit program.
        if wanted.contains(.failedExit), self.kinds.contains(.exit) { kinds.insert(.failedExit) }
        subscriber.kinds = kinds
        connector.withLock { $0 }?.applyFilter(mask(subscriber))
    }

    /// Every event queued since the last call, in the connector's order.
    func drain() -> [ProcessEvent] {
        queue.events.withLock { queue in
            defer { queue.removeAll(keepingCapacity: true) }
            return queue
        }
    }

    /// Ends the connector session (IGNORE, close) and waits until its reader is done.
    func stop() {
        guard let session = connector.withLock({ session in defer { session = nil }; return session }) else { return }
        _ = subscriber.deactivate()
        session.requestStop()
        if !session.isOnReaderThread { session.waitUntilFinished() }
    }
}
