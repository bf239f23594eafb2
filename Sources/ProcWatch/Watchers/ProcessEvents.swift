import Synchronization

/// Process events as an `AsyncSequence`, for structured concurrency:
///
/// ```swift
/// for try await event in ProcessEvents([.exec, .exit]) {
///     print(event.name, event.pid ?? 0)
/// }
/// ```
///
/// See ``ProcessEventStream`` for how subscribing, cancelling and falling behind work.
public typealias ProcessEvents = ProcessEventStream<ProcessEvent>

/// Process events with the process table's view of each, as an `AsyncSequence`:
///
/// ```swift
/// for try await enriched in EnrichedProcessEvents(.exec) {
///     print(enriched.process?.commandLine.joined(separator: " ") ?? "?")
/// }
/// ```
///
/// Command lines were read at the exec, before anything else of its kernel batch, however
/// late the loop gets to it. See ``ProcessEventStream``.
public typealias EnrichedProcessEvents = ProcessEventStream<EnrichedEvent>

/// What a ``ProcessEventStream`` yields: a plain ``ProcessEvent`` or an ``EnrichedEvent``.
public protocol StreamedProcessEvent: Sendable {
    /// Whether the source must enrich events for this element.
    static var isEnriched: Bool { get }
    /// The element for an event the source delivered.
    init(delivered: EnrichedEvent)
    /// The kernel event (or `lost` report) inside.
    var processEvent: ProcessEvent { get }
}

extension ProcessEvent: StreamedProcessEvent {
    /// Plain events: no enrichment.
    public static var isEnriched: Bool { false }
    /// The delivered event without what the table knew.
    public init(delivered: EnrichedEvent) { self = delivered.event }
    /// The event itself.
    public var processEvent: ProcessEvent { self }
}

extension EnrichedEvent: StreamedProcessEvent {
    /// Enriched events.
    public static var isEnriched: Bool { true }
    /// The delivered event as it is.
    public init(delivered: EnrichedEvent) { self = delivered }
    /// ``event``.
    public var processEvent: ProcessEvent { event }
}

/// Events from a source as an `AsyncSequence` (``ProcessEvents``, ``EnrichedProcessEvents``).
///
/// Iterating subscribes (sharing the source's kernel subscription); leaving the loop,
/// or cancelling its task, unsubscribes. Errors that prevent watching (no privilege,
/// wrong namespace) are thrown by the first `next()`. If the consumer falls more than
/// `bufferLimit` events behind, the overflow is dropped and reported as a `lost` event
/// with reason `.backlog` — never silently.
public struct ProcessEventStream<Element: StreamedProcessEvent>: AsyncSequence, Sendable {
    public typealias Failure = ProcWatchError

    private let kinds: ProcessEventKinds
    private let source: ProcessEventSource
    private let bufferLimit: Int

    /// Events of `kinds` (and `lost` reports) from `source`.
    public init(_ kinds: ProcessEventKinds = .all, source: ProcessEventSource = .shared, bufferLimit: Int = 1 << 20) {
        self.kinds = kinds
        self.source = source
        self.bufferLimit = Swift.max(1, bufferLimit)
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(kinds: kinds, source: source, bufferLimit: bufferLimit)
    }

    /// Subscribes now and returns the iterator, so that no event after this call is missed
    /// (a `for await` loop subscribes only when it first asks for an element):
    ///
    /// ```swift
    /// var exits = try ProcessEvents(.exit).subscribe()
    /// let child = try spawnSomething()
    /// while let event = try await exits.next(), event.pid != child {}
    /// ```
    public func subscribe() throws(ProcWatchError) -> Iterator {
        var iterator = makeAsyncIterator()
        try iterator.subscribeNow()
        return iterator
    }

    /// Iterates one subscription.
    public struct Iterator: AsyncIteratorProtocol {
        public typealias Failure = ProcWatchError

        private let kinds: ProcessEventKinds
        private let source: ProcessEventSource
        private let bufferLimit: Int
        private var stream: AsyncThrowingStream<Element, any Error>.Iterator?
        private var finished = false

        init(kinds: ProcessEventKinds, source: ProcessEventSource, bufferLimit: Int) {
            self.kinds = kinds
            self.source = source
            self.bufferLimit = bufferLimit
        }

        public mutating func next() async throws(ProcWatchError) -> Element? {
            try await next(isolation: nil)
        }

        mutating func subscribeNow() throws(ProcWatchError) {
            if stream == nil, !finished {
                stream = try Self.subscribe(kinds: kinds, source: source, bufferLimit: bufferLimit).makeAsyncIterator()
            }
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async throws(ProcWatchError) -> Element? {
            if finished { return nil }
            if stream == nil {
                // The handshake can block for up to the acknowledgement timeout: keep it off
                // the cooperative pool, which has as few threads as the machine has cores.
                let (kinds, source, bufferLimit) = (self.kinds, self.source, self.bufferLimit)
                let subscribed = await ReaderThread.offPool {
                    Result { () throws(ProcWatchError) in try Self.subscribe(kinds: kinds, source: source, bufferLimit: bufferLimit) }
                }
                do {
                    stream = try subscribed.get().makeAsyncIterator()
                } catch {
                    finished = true
                    throw error
                }
            }
            do {
                guard let event = try await stream!.next(isolation: actor) else {
                    finished = true
                    return nil
                }
                return event
            } catch let error as ProcWatchError {
                finished = true
                throw error
            } catch {
                finished = true
                throw .cancelled
            }
        }

        private static func subscribe(
            kinds: ProcessEventKinds, source: ProcessEventSource, bufferLimit: Int
        ) throws(ProcWatchError) -> AsyncThrowingStream<Element, any Error> {
            let (stream, continuation) = AsyncThrowingStream<Element, any Error>.makeStream(
                bufferingPolicy: .bufferingOldest(bufferLimit))
            // Events the buffer refused since the last report; touched only on the reader thread.
            let backlog = Atomic<Int>(0)
            @Sendable func refused(_ element: Element) {
                // A refused loss report carries its own count (at least one event).
                if case .lost(let count, _, _) = element.processEvent.detail {
                    backlog.add(Swift.max(count ?? 1, 1), ordering: .relaxed)
                } else {
                    backlog.add(1, ordering: .relaxed)
                }
            }
            @Sendable func reportBacklog(at timestamp: EventTimestamp) -> Bool {
                let count = backlog.load(ordering: .relaxed)
                guard count > 0 else { return true }
                let report = ProcessEvent(detail: .lost(count: count, reason: .backlog, cpu: nil), timestamp: timestamp)
                guard case .enqueued = continuation.yield(Element(delivered: EnrichedEvent(event: report))) else { return false }
                backlog.store(0, ordering: .relaxed)
                return true
            }
            let subscriber = try source.subscribe(
                kinds: kinds, enriched: Element.isEnriched,
                deliver: { delivered in
                    let element = Element(delivered: delivered)
                    guard reportBacklog(at: delivered.event.timestamp) else {
                        refused(element)
                        return
                    }
                    if case .dropped = continuation.yield(element) { refused(element) }
                },
                finish: { error in
                    _ = reportBacklog(at: .now)
                    if let error { continuation.finish(throwing: error) } else { continuation.finish() }
                })
            continuation.onTermination = { _ in source.unsubscribe(subscriber, waitForRelease: false) }
            return stream
        }
    }
}
