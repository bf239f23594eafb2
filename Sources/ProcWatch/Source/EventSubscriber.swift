import Synchronization

/// One consumer of a `ProcessEventSource`: a watcher registry or a stream.
///
/// `deliver` runs on the source's reader thread, one event at a time, in kernel order.
final class EventSubscriber: Sendable {
    let id: Int
    private let kindBits: Atomic<UInt32>
    /// Called on the reader thread for each admitted event.
    let deliver: @Sendable (ProcessEvent) -> Void
    /// Called once when the source stops delivering to this subscriber: nil when it was
    /// removed, or the error that ended the source.
    let finish: @Sendable (ProcWatchError?) -> Void

    init(id: Int, kinds: ProcessEventKinds,
         deliver: @escaping @Sendable (ProcessEvent) -> Void,
         finish: @escaping @Sendable (ProcWatchError?) -> Void) {
        self.id = id
        self.kindBits = Atomic(kinds.rawValue)
        self.deliver = deliver
        self.finish = finish
    }

    var kinds: ProcessEventKinds {
        get { ProcessEventKinds(rawValue: kindBits.load(ordering: .relaxed)) }
        set { kindBits.store(newValue.rawValue, ordering: .relaxed) }
    }
}
