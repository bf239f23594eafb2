import CProcWatch
import Dispatch
import Logging
import Netlink
import Synchronization

/// The one kernel subscription that a process's watchers and streams share.
///
/// The first consumer opens a NETLINK_CONNECTOR socket, sends LISTEN and waits for the
/// kernel's ack; a dedicated thread then reads, decodes, checks for loss and hands each
/// event to every consumer in kernel order. When the last consumer leaves, the reader
/// sends IGNORE and closes the socket — on every way out, including a thrown error, and
/// (through a signal handler) SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGPIPE.
///
/// Use ``shared`` unless you need separate settings; several processes each get every event.
public final class ProcessEventSource: Sendable {
    /// Settings for a source.
    public struct Configuration: Sendable {
        /// The socket receive buffer to ask for (forced past `rmem_max` when root).
        /// A deep buffer is what rides out a fork storm without loss.
        public var receiveBufferBytes: Int
        /// How long to wait for the kernel to acknowledge LISTEN before concluding it ignores us.
        public var acknowledgementTimeout: Duration
        /// Ask the kernel (6.6+) to send only the kinds consumers want. Off: everything is
        /// received and filtered here, and sequence numbers stay gap-free so loss is exact.
        public var usesKernelFilter: Bool
        /// Where diagnostics go (malformed messages, watcher failures). Never bootstrapped here.
        public var logger: Logger

        /// Creates a configuration.
        public init(
            receiveBufferBytes: Int = 16 << 20,
            acknowledgementTimeout: Duration = .seconds(1),
            usesKernelFilter: Bool = true,
            logger: Logger = Logger(label: "procwatch", factory: { _ in SwiftLogNoOpLogHandler() })
        ) {
            self.receiveBufferBytes = receiveBufferBytes
            self.acknowledgementTimeout = acknowledgementTimeout
            self.usesKernelFilter = usesKernelFilter
            self.logger = logger
        }
    }

    /// The process-wide source that watchers and streams use by default.
    public static let shared = ProcessEventSource()

    let configuration: Configuration
    private let openTransport: @Sendable () throws(ProcWatchError) -> any NetlinkTransport
    private let state = Mutex(State())
    private let nextID = Atomic<Int>(1)

    private struct State {
        var subscribers: [EventSubscriber] = []
        var session: Session?
    }

    /// Creates a source reading the kernel's proc connector.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        let bufferBytes = configuration.receiveBufferBytes
        self.openTransport = { () throws(ProcWatchError) -> any NetlinkTransport in
            do throws(NetlinkError) {
                let socket = try NetlinkSocket(netlinkProtocol: NETLINK_CONNECTOR, groups: UInt32(CN_IDX_PROC))
                socket.setReceiveBufferSize(bufferBytes)
                return socket
            } catch {
                throw Handshake.map(error)
            }
        }
    }

    /// Creates a source over another transport (tests play the kernel with one).
    package init(configuration: Configuration, transport: @escaping @Sendable () throws(NetlinkError) -> any NetlinkTransport) {
        self.configuration = configuration
        self.openTransport = { () throws(ProcWatchError) -> any NetlinkTransport in
            do throws(NetlinkError) { return try transport() } catch { throw Handshake.map(error) }
        }
    }

    /// Whether a kernel subscription is open now.
    public var isListening: Bool { state.withLock { $0.session != nil } }

    /// The kernel filter in force (the union of what consumers asked for), or nil when
    /// everything is received.
    public var kernelFilter: ProcessEventKinds? {
        state.withLock { state in
            guard let session = state.session else { return nil }
            let mask = session.kernelMask.load(ordering: .relaxed)
            return mask == Self.allEvents ? nil : ProcessEventKinds(rawValue: mask)
        }
    }

    // MARK: Subscribing

    /// Adds a consumer; opens the kernel subscription if it is the first.
    ///
    /// - Throws: the reason the subscription could not be opened. The consumer is not added then.
    func subscribe(
        kinds: ProcessEventKinds,
        deliver: @escaping @Sendable (ProcessEvent) -> Void,
        batchEnded: @escaping @Sendable () -> Void = {},
        finish: @escaping @Sendable (ProcWatchError?) -> Void
    ) throws(ProcWatchError) -> EventSubscriber {
        let subscriber = EventSubscriber(
            id: nextID.add(1, ordering: .relaxed).oldValue, kinds: kinds, deliver: deliver,
            batchEnded: batchEnded, finish: finish)
        try state.withLock { (state: inout State) throws(ProcWatchError) in
            state.subscribers.append(subscriber)
            if let session = state.session {
                session.subscribers.withLock { $0 = state.subscribers }
                updateFilter(session: session, subscribers: state.subscribers)
                return
            }
            do throws(ProcWatchError) {
                state.session = try startSession(subscribers: state.subscribers)
            } catch {
                state.subscribers.removeAll { $0 === subscriber }
                throw error
            }
        }
        return subscriber
    }

    /// Changes what a consumer wants; the kernel filter follows.
    func update(_ subscriber: EventSubscriber, kinds: ProcessEventKinds) {
        subscriber.kinds = kinds
        state.withLock { state in
            if let session = state.session { updateFilter(session: session, subscribers: state.subscribers) }
        }
    }

    /// Removes a consumer and calls its `finish(nil)`; the last one out closes the
    /// subscription (IGNORE, then close) and, with `waitForRelease` and unless called from
    /// the reader thread itself, waits until that is done.
    ///
    /// Stream terminations must not wait: they run inside task cancellation, where the
    /// reader may be blocked resuming that very task. The reader still sends IGNORE
    /// moments later, and the `atexit` handler covers a process that exits first.
    func unsubscribe(_ subscriber: EventSubscriber, waitForRelease: Bool = true) {
        let (found, ending): (Bool, Session?) = state.withLock { state in
            guard state.subscribers.contains(where: { $0 === subscriber }) else { return (false, nil) }
            state.subscribers.removeAll { $0 === subscriber }
            guard let session = state.session else { return (true, nil) }
            session.subscribers.withLock { $0 = state.subscribers }
            if state.subscribers.isEmpty {
                state.session = nil
                session.requestStop()
                return (true, session)
            }
            updateFilter(session: session, subscribers: state.subscribers)
            return (true, nil)
        }
        if found, subscriber.deactivate() { subscriber.finish(nil) }
        if let ending, waitForRelease, !ReaderThread.isCurrent(ending.readerThread.load(ordering: .acquiring)) {
            ending.finished.wait()
        }
    }

    // MARK: The session

    static let allEvents: UInt32 = ProcessEventKinds.kernelBits.rawValue

    /// The kernel filter mask for what the consumers want: everything (the 4-byte LISTEN's
    /// PROC_EVENT_ALL, which keeps sequence numbers gap-free) unless a real subset is wanted.
    func kernelMask(for subscribers: [EventSubscriber]) -> UInt32 {
        guard configuration.usesKernelFilter, KernelFacts.hasEventFilter else { return Self.allEvents }
        var union = ProcessEventKinds()
        for subscriber in subscribers { union.formUnion(subscriber.kinds) }
        if union.contains(.unknown) { return Self.allEvents }
        if union.contains(.exit) { union.remove(.failedExit) }
        let mask = union.intersection(.kernelBits)
        let everyKind = ProcessEventKinds.kernelBits.subtracting(.failedExit)
        if mask.isSuperset(of: everyKind) || mask.isEmpty { return Self.allEvents }
        return mask.rawValue
    }

    private func updateFilter(session: Session, subscribers: [EventSubscriber]) {
        let mask = kernelMask(for: subscribers)
        guard session.kernelMask.exchange(mask, ordering: .acquiringAndReleasing) != mask else { return }
        // Back to everything: the ack of this request reaches us (it passes an ALL filter)
        // and tells the reader where gap-free numbering starts again.
        var nonce: UInt32 = 0
        if mask == Self.allEvents {
            nonce = UInt32.random(in: 1...0x7FFF_FFFF)
            session.widenedFilterAck.store(nonce &+ 1, ordering: .releasing)
        }
        session.filterGeneration.add(1, ordering: .releasing)
        try? SignalRelease.sendRaising(slot: session.signalSlot) { () throws(NetlinkError) in
            try session.transport.send(SubscriptionRequest.filter(ProcessEventKinds(rawValue: mask), acknowledgement: nonce))
        }
    }

    private func startSession(subscribers: [EventSubscriber]) throws(ProcWatchError) -> Session {
        let transport = try openTransport()
        let batch = DatagramBatch(capacity: 64, slotSize: 1024)
        let session = Session(transport: transport, subscribers: subscribers)
        // Registered before LISTEN goes out, so a signal at any moment after it still releases.
        if let socket = transport as? NetlinkSocket {
            session.signalSlot = SignalRelease.register(socket.descriptor)
        }
        let pending: Range<Int>
        do throws(ProcWatchError) {
            pending = try Handshake.listen(on: transport, batch: batch, timeout: configuration.acknowledgementTimeout,
                                           signalSlot: session.signalSlot)
        } catch {
            session.close()  // IGNORE again: harmless if sent, vital if a LISTEN counted
            throw error
        }
        let mask = kernelMask(for: subscribers)
        if mask != Self.allEvents {
            session.kernelMask.store(mask, ordering: .relaxed)
            do throws(ProcWatchError) {
                try Handshake.send(SubscriptionRequest.filter(ProcessEventKinds(rawValue: mask), acknowledgement: 0),
                                   on: transport, signalSlot: session.signalSlot)
            } catch {
                session.close()
                throw error
            }
        }
        let reader = EventReader(session: session, batch: batch, pendingAfterAck: pending, logger: configuration.logger) { [weak self] error in
            self?.sessionFailed(session, error: error)
        }
        do throws(ProcWatchError) {
            try ReaderThread.spawn(name: "procwatch-read") { reader.run() }
        } catch {
            session.close()
            throw error
        }
        return session
    }

    /// The reader hit an error it cannot recover from: every consumer is finished with it.
    private func sessionFailed(_ session: Session, error: ProcWatchError) {
        let finished: [EventSubscriber] = state.withLock { state in
            guard state.session === session else { return [] }
            state.session = nil
            defer { state.subscribers.removeAll() }
            return state.subscribers
        }
        for subscriber in finished where subscriber.deactivate() { subscriber.finish(error) }
    }
}

/// One open kernel subscription: the transport, who gets events, and how to stop.
final class Session: Sendable {
    let transport: any NetlinkTransport
    let subscribers: Mutex<[EventSubscriber]>
    let kernelMask = Atomic<UInt32>(ProcessEventSource.allEvents)
    let filterGeneration = Atomic<Int>(0)
    /// The ack number of the latest request that widened the filter back to everything.
    let widenedFilterAck = Atomic<UInt32>(0)
    let stopRequested = Atomic<Bool>(false)
    let readerThread = Atomic<UInt>(0)
    let finished = DispatchSemaphore(value: 0)
    private let slot = Mutex<Int?>(nil)

    init(transport: any NetlinkTransport, subscribers: [EventSubscriber]) {
        self.transport = transport
        self.subscribers = Mutex(subscribers)
    }

    var signalSlot: Int? {
        get { slot.withLock { $0 } }
        set { slot.withLock { $0 = newValue } }
    }

    func requestStop() {
        stopRequested.store(true, ordering: .releasing)
        transport.wake()
    }

    /// IGNORE, forget the signal slot, close. Called once, by whoever ends the session.
    func close() {
        SignalRelease.beginRelease(slot: signalSlot)
        Handshake.release(transport)
        // If an exit or signal handler took the descriptor meanwhile, it is sending IGNORE
        // on it right now: leave it open (the process is ending) so the number is not reused.
        if SignalRelease.unregister(slot: signalSlot) || signalSlot == nil { transport.close() }
    }
}
