import Synchronization

/// One consumer of a `ProcessEventSource`: a watcher registry or a stream.
///
/// `deliver` runs on the source's reader thread, one event at a time, in kernel order.
final class EventSubscriber: Sendable {
    let id: Int
    private let kindBits: Atomic<UInt32>
    private let enrichment: Atomic<Bool>
    private let active = Atomic<Bool>(true)
    /// Called on the reader thread for each admitted event (enriched when any consumer of
    /// the source asked for enrichment; else with only `event` set).
    let deliver: @Sendable (EnrichedEvent) -> Void
    /// Called on the reader thread after the events of one kernel read were delivered.
    let batchEnded: @Sendable () -> Void
    /// Called once when the source stops delivering to this subscriber: nil when it was
    /// removed, or the error that ended the source.
    let finish: @Sendable (ProcWatchError?) -> Void

    init(id: Int, kinds: ProcessEventKinds, wantsEnrichment: Bool = false,
         deliver: @escaping @Sendable (EnrichedEvent) -> Void,
         batchEnded: @escaping @Sendable () -> Void = {},
         finish: @escaping @Sendable (ProcWatchError?) -> Void) {
        self.id = id
        self.kindBits = Atomic(kinds.rawValue)
        self.enrichment = Atomic(wantsEnrichment)
        self.deliver = deliver
        self.batchEnded = batchEnded
        self.finish = finish
    }

    /// Whether events are still delivered (cleared when it is removed or the source fails).
    var isActive: Bool { active.load(ordering: .acquiring) }

    /// Stops delivery; returns true for the one call that did it (which then calls `finish`).
    func deactivate() -> Bool { active.exchange(false, ordering: .acquiringAndReleasing) }

    var kinds: ProcessEventKinds {
        get { ProcessEventKinds(rawValue: kindBits.load(ordering: .relaxed)) }
        set { kindBits.store(newValue.rawValue, ordering: .relaxed) }
    }

    /// Whether it needs the process table's view of each event.
    var wantsEnrichment: Bool {
        get { enrichment.load(ordering: .relaxed) }
        set { enrichment.store(newValue, ordering: .relaxed) }
    }
}

extension [EventSubscriber] {
    /// Hands `event` (the batch's message number `index`, nil for reports made by the
    /// reader) to every consumer that wants it — enriched by `stage`, which sees every
    /// event. On the reader thread of either backend.
    @inline(__always)
    func dispatch(_ event: ProcessEvent, at index: Int?, stage: EnrichmentStage?) {
        let enriched = stage?.enrich(event, at: index) ?? EnrichedEvent(event: event)
        for subscriber in self where subscriber.isActive && subscriber.kinds.admits(event) {
            subscriber.deliver(enriched)
        }
        stage?.retire(event)
    }

    /// Tells every consumer that one read's events are all delivered (time to flush).
    func endBatch() {
        for subscriber in self where subscriber.isActive { subscriber.batchEnded() }
    }
}
