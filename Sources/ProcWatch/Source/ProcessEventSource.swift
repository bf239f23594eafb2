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
        /// What the enrichment stage does for consumers of ``EnrichedEvent``s.
        public var enrichment: Enrichment
        /// Where the events come from: the kernel-side (eBPF) watchers, the proc connector,
        /// or the watchers when they load and attach and else the connector.
        public var backend: Backend
        /// Settings of the kernel-side watchers (``Backend/bpf``, and ``Backend/auto`` when they load).
        public var kernelWatchers: KernelWatcherOptions
        /// Settings of the /proc scanner (``Backend/procfs``, and ``Backend/auto`` where no
        /// kernel source works).
        public var procScan: ProcScanOptions
        /// The namespaces procwatch runs in (nil: read from /proc when the source starts).
        public var namespaces: NamespaceView?
        /// Where diagnostics go (malformed messages, watcher failures). Never bootstrapped here.
        public var logger: Logger

        /// Creates a configuration.
        public init(
            receiveBufferBytes: Int = 16 << 20,
            acknowledgementTimeout: Duration = .seconds(1),
            usesKernelFilter: Bool = true,
            enrichment: Enrichment = Enrichment(),
            backend: Backend = .connector,
            kernelWatchers: KernelWatcherOptions = KernelWatcherOptions(),
            procScan: ProcScanOptions = ProcScanOptions(),
            namespaces: NamespaceView? = nil,
            logger: Logger = Logger(label: "procwatch", factory: { _ in SwiftLogNoOpLogHandler() })
        ) {
            self.receiveBufferBytes = receiveBufferBytes
            self.acknowledgementTimeout = acknowledgementTimeout
            self.usesKernelFilter = usesKernelFilter
            self.enrichment = enrichment
            self.backend = backend
            self.kernelWatchers = kernelWatchers
            self.procScan = procScan
            self.namespaces = namespaces
            self.logger = logger
        }
    }

    /// Settings of the enrichment stage: the one process table of a source, made when the
    /// first consumer asks for ``EnrichedEvent``s and shared by all of them.
    public struct Enrichment: Sendable {
        /// Seed the process table from /proc (names and ancestry of processes already running).
        public var seedsFromProc: Bool
        /// Read the executable's path at each exec (`/proc/PID/exe`, one system call more).
        public var readsExecutables: Bool
        /// What taskstats exit records are read for. They need CAP_NET_ADMIN; without it
        /// events are still enriched, and ``ProcessEventSource/exitRecordsError`` says why.
        public var exitRecords: ExitRecords

        /// Creates the settings.
        public init(seedsFromProc: Bool = true, readsExecutables: Bool = true, exitRecords: ExitRecords = .everyExit) {
            self.seedsFromProc = seedsFromProc
            self.readsExecutables = readsExecutables
            self.exitRecords = exitRecords
        }
    }

    /// Where a source's events come from.
    public enum Backend: String, Sendable, Hashable, CaseIterable {
        /// The kernel-side watchers when they load and attach, else the connector.
        case auto
        /// BPF programs on tracepoints and kprobes: every kind, plus what only the kernel
        /// can give at the moment (an exec's full argv, failed execs, an exit's accounting).
        case bpf
        /// The kernel's process events connector (netlink).
        case connector
        /// procwatch's own scans of /proc (``EventOrigin/procfs``), where the kernel
        /// refuses both (a user namespace): processes shorter than a scan are counted as lost.
        case procfs
    }

    /// Settings of the kernel-side (eBPF) watchers.
    public struct KernelWatcherOptions: Sendable, Hashable {
        /// The ring buffer the programs write into (a power of two, at least a page). The
        /// default rides out the machine's fork storm between two polls many times over.
        public var ringBufferBytes: Int
        /// How long the reader waits for the ring before it looks anyway: the programs wake
        /// it only once ``wakeupBytes`` wait, so that a storm costs a wakeup per batch, not
        /// per event. This is the longest an event waits in the ring.
        public var pollInterval: Duration
        /// Waiting bytes at which a program wakes the reader at once (0: the kernel's own
        /// rule, a wakeup whenever the reader has caught up — one per event when it keeps up).
        public var wakeupBytes: Int
        /// Follow only these processes (`--pid`, `--tree`), decided in the kernel: events of
        /// other processes never reach user space. nil: every process.
        public var followedProcesses: Set<Int32>?
        /// With ``followedProcesses``: also every process they (and their children) fork
        /// from now on; the fork event of a followed parent is reported.
        public var followsDescendants: Bool
        /// Only tasks whose real user id is this one, decided in the kernel. nil: any user.
        public var userID: UInt32?
        /// Tests: the reader sleeps this long before its first read (a stalled consumer).
        package var consumerStall: Duration?
        /// Tests: opening the watchers fails with this reason, as when BPF is refused
        /// (default: the test-only `PROCWATCH_TEST_BPF_REFUSAL` environment variable).
        package var simulatedRefusal: String? = KernelWatcherTestSwitches.refusal
        /// Tests: the programs of these kinds are not attached, as when they fail to attach
        /// (default: the test-only `PROCWATCH_TEST_BPF_REFUSED_KINDS` environment variable).
        package var simulatedMissingKinds: ProcessEventKinds = KernelWatcherTestSwitches.refusedKinds

        /// Creates the settings.
        public init(ringBufferBytes: Int = 4 << 20, pollInterval: Duration = .milliseconds(20),
                    wakeupBytes: Int = 1 << 20, followedProcesses: Set<Int32>? = nil, followsDescendants: Bool = true,
                    userID: UInt32? = nil) {
            self.ringBufferBytes = ringBufferBytes
            self.pollInterval = pollInterval
            self.wakeupBytes = wakeupBytes
            self.followedProcesses = followedProcesses
            self.followsDescendants = followsDescendants
            self.userID = userID
        }
    }

    /// What the enrichment stage reads taskstats exit records for.
    public enum ExitRecords: Sendable, Hashable {
        /// None are read.
        case none
        /// Only to name processes gone before /proc could be read: the records are read when
        /// a name is missing and every few dozen exits, so an exit event carries its record
        /// when one was read by then. Under a storm this costs a fraction of ``everyExit``.
        case names
        /// Every exit event carries its record (CPU, memory, I/O): the records are read
        /// for every kernel batch that holds an exit. For accounting.
        case everyExit
    }

    /// The process-wide source that watchers and streams use by default.
    public static let shared = ProcessEventSource()

    let configuration: Configuration
    private let openTransport: @Sendable () throws(ProcWatchError) -> any NetlinkTransport
    private let makeFiles: @Sendable () -> any ProcFileSystem
    private let openExitRecords: @Sendable () throws(ProcWatchError) -> (any ExitRecordSource)?
    private let state = Mutex(State())
    private let nextID = Atomic<Int>(1)

    private struct State {
        var subscribers: [EventSubscriber] = []
        var session: (any SourceSession)?
        /// The backend of the latest session, and why.
        var choice: BackendChoice?
        /// The enrichment stage, from the first consumer that wants it to the end of the session.
        var stage: EnrichmentStage?
    }

    /// Creates a source reading the kernel's proc connector.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        self.makeFiles = { ProcFS() }
        self.openExitRecords = { () throws(ProcWatchError) -> (any ExitRecordSource)? in try TaskstatsListener() }
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

    /// Creates a source over another transport (tests play the kernel with one), and for the
    /// enrichment stage another /proc and another source of exit records (none by default).
    package init(configuration: Configuration, transport: @escaping @Sendable () throws(NetlinkError) -> any NetlinkTransport,
                 files: @escaping @Sendable () -> any ProcFileSystem = { ProcFS() },
                 exitRecords: @escaping @Sendable () throws(ProcWatchError) -> (any ExitRecordSource)? = { nil }) {
        self.configuration = configuration
        self.makeFiles = files
        self.openExitRecords = exitRecords
        self.openTransport = { () throws(ProcWatchError) -> any NetlinkTransport in
            do throws(NetlinkError) { return try transport() } catch { throw Handshake.map(error) }
        }
    }

    /// The backend the events come from (the latest session's, kept after it ends), and
    /// why; nil before the first consumer subscribed. With ``Backend/auto`` the reason says
    /// why the connector is used when it is.
    public var backendChoice: BackendChoice? { state.withLock { $0.choice } }

    /// The backend in use (see ``backendChoice``).
    public var activeBackend: Backend? { backendChoice?.backend }

    /// Whether a kernel subscription is open now.
    public var isListening: Bool { state.withLock { $0.session != nil } }

    /// The enrichment stage's process table, once a consumer asked for ``EnrichedEvent``s.
    /// Watchers running on the reader thread see it exactly as it stands after their event
    /// (ancestry, other processes); a stream's consumer sees it as it is now.
    public var processTable: ProcessTable? { state.withLock { $0.stage?.table } }

    /// Why exit records are not read although ``Enrichment/readsExitRecords`` asked for them
    /// (e.g. no CAP_NET_ADMIN); nil when they are read, or before enrichment started.
    public var exitRecordsError: ProcWatchError? { state.withLock { $0.stage?.exitRecordsError } }

    /// The kernel filter in force (the union of what consumers asked for), or nil when
    /// everything is received.
    public var kernelFilter: ProcessEventKinds? {
        state.withLock { state in
            guard let session = state.session else { return nil }
            let mask = session.filterMask
            let all = session is KernelWatcherSession ? Self.kernelWatcherKinds.rawValue : Self.allEvents
            return mask == all ? nil : ProcessEventKinds(rawValue: mask)
        }
    }

    // MARK: Subscribing

    /// Adds a consumer; opens the kernel subscription if it is the first.
    ///
    /// - Throws: the reason the subscription could not be opened. The consumer is not added then.
    func subscribe(
        kinds: ProcessEventKinds,
        enriched: Bool = false,
        deliver: @escaping @Sendable (EnrichedEvent) -> Void,
        batchEnded: @escaping @Sendable () -> Void = {},
        finish: @escaping @Sendable (ProcWatchError?) -> Void
    ) throws(ProcWatchError) -> EventSubscriber {
        let subscriber = EventSubscriber(
            id: nextID.add(1, ordering: .relaxed).oldValue, kinds: kinds, wantsEnrichment: enriched, deliver: deliver,
            batchEnded: batchEnded, finish: finish)
        try state.withLock { (state: inout State) throws(ProcWatchError) in
            state.subscribers.append(subscriber)
            if let session = state.session {
                if enriched { startEnrichment(&state) }
                session.setSubscribers(state.subscribers)
                updateFilter(session: session, subscribers: state.subscribers)
                return
            }
            do throws(ProcWatchError) {
                // The backend first: the stage reads no taskstats when the kernel-side
                // watchers account for exits themselves.
                let watchers = try openBackend(&state)
                if enriched { startEnrichment(&state) }
                state.session = try startChosenSession(watchers: watchers, &state)
                if let session = state.session as? KernelWatcherSession { startFallback(for: session, &state) }
            } catch {
                state.subscribers.removeAll { $0 === subscriber }
                if state.subscribers.isEmpty {
                    state.stage?.close()
                    state.stage = nil
                }
                throw error
            }
        }
        return subscriber
    }

    /// Changes what a consumer wants; the kernel filter follows.
    func update(_ subscriber: EventSubscriber, kinds: ProcessEventKinds, enriched: Bool) {
        subscriber.kinds = kinds
        subscriber.wantsEnrichment = enriched
        state.withLock { state in
            if enriched { startEnrichment(&state) }
            if let session = state.session { updateFilter(session: session, subscribers: state.subscribers) }
        }
    }

    /// Makes the enrichment stage if there is none: the table is seeded here, on the
    /// subscriber's thread, and the reader picks the stage up at its next batch.
    private func startEnrichment(_ state: inout State) {
        if state.stage == nil {
            var options = configuration.enrichment
            // Exits from the kernel-side watchers carry their accounting.
            if let choice = state.choice, choice.backend == .bpf, !choice.missingKinds.contains(.exit) {
                options.exitRecords = .none
            }
            // The scanner's processes are this namespace's; taskstats would name the kernel's.
            if state.choice?.backend == .procfs { options.exitRecords = .none }
            state.stage = EnrichmentStage(options: options, files: makeFiles, exitRecords: openExitRecords)
        }
        state.session?.setStage(state.stage)
        state.session?.keepExecsFromWaiting(timeout: configuration.acknowledgementTimeout)
    }

    /// Removes a consumer and calls its `finish(nil)`; the last one out closes the
    /// subscription (IGNORE, then close) and, with `waitForRelease` and unless called from
    /// the reader thread itself, waits until that is done.
    ///
    /// Stream terminations must not wait: they run inside task cancellation, where the
    /// reader may be blocked resuming that very task. The reader still sends IGNORE
    /// moments later, and the `atexit` handler covers a process that exits first.
    func unsubscribe(_ subscriber: EventSubscriber, waitForRelease: Bool = true) {
        let (found, ending): (Bool, (any SourceSession)?) = state.withLock { state in
            guard state.subscribers.contains(where: { $0 === subscriber }) else { return (false, nil) }
            state.subscribers.removeAll { $0 === subscriber }
            guard let session = state.session else { return (true, nil) }
            session.setSubscribers(state.subscribers)
            if state.subscribers.isEmpty {
                state.session = nil
                // The table and the exit-record registration end with the last consumer.
                state.stage = nil
                session.requestStop()
                return (true, session)
            }
            updateFilter(session: session, subscribers: state.subscribers)
            return (true, nil)
        }
        if found, subscriber.deactivate() { subscriber.finish(nil) }
        if let ending, waitForRelease, !ending.isOnReaderThread {
            ending.waitUntilFinished()
        }
    }

    // MARK: The session

    static let allEvents: UInt32 = ProcessEventKinds.kernelBits.rawValue

    /// The kernel filter mask for what the consumers want: everything (the 4-byte LISTEN's
    /// PROC_EVENT_ALL, which keeps sequence numbers gap-free) unless a real subset is wanted.
    func kernelMask(for subscribers: [EventSubscriber]) -> UInt32 {
        guard configuration.usesKernelFilter, KernelFacts.hasEventFilter else { return Self.allEvents }
        var union = ProcessEventKinds()
        for subscriber in subscribers {
            union.formUnion(subscriber.kinds)
            if subscriber.wantsEnrichment { union.formUnion(EnrichmentStage.neededKinds) }
        }
        if union.contains(.unknown) { return Self.allEvents }
        if union.contains(.exit) { union.remove(.failedExit) }
        let mask = union.intersection(.kernelBits)
        let everyKind = ProcessEventKinds.kernelBits.subtracting(.failedExit)
        if mask.isSuperset(of: everyKind) || mask.isEmpty { return Self.allEvents }
        return mask.rawValue
    }

    /// The kinds the kernel-side watchers can report and filter by.
    static let kernelWatcherKinds = ProcessEventKinds.kernelBits.union(EventKind.execFailed.bit)

    /// The kinds the kernel-side watchers are to report for what the consumers want,
    /// decided the way ``kernelMask(for:)`` decides the connector's filter.
    func kernelWatcherMask(for subscribers: [EventSubscriber]) -> UInt32 {
        var union = ProcessEventKinds()
        for subscriber in subscribers {
            union.formUnion(subscriber.kinds)
            if subscriber.wantsEnrichment { union.formUnion(EnrichmentStage.neededKinds) }
        }
        if union.contains(.unknown) || union.isEmpty { return Self.kernelWatcherKinds.rawValue }
        if union.contains(.exit) { union.remove(.failedExit) }
        return union.intersection(Self.kernelWatcherKinds).rawValue
    }

    private func updateFilter(session: any SourceSession, subscribers: [EventSubscriber]) {
        if let session = session as? KernelWatcherSession {
            let mask = kernelWatcherMask(for: subscribers)
            session.applyFilter(mask)
            session.fallback.withLock { $0 }?.want(ProcessEventKinds(rawValue: mask)) { kernelMask(for: [$0]) }
        } else {
            session.applyFilter(kernelMask(for: subscribers))
        }
    }

    // MARK: Backends

    /// Decides the backend (``Configuration/backend``) and records the choice; returns the
    /// loaded kernel-side watchers, or nil for the connector.
    private func openBackend(_ state: inout State) throws(ProcWatchError) -> KernelWatchers? {
        let options = configuration.kernelWatchers
        func open() throws(ProcWatchError) -> KernelWatchers {
            if let refusal = options.simulatedRefusal { throw .kernelWatchersUnavailable(reason: refusal) }
            LibBPF.route(to: configuration.logger)
            return try KernelWatchers(ringBufferBytes: options.ringBufferBytes, refusing: options.simulatedMissingKinds)
        }
        let namespaces = configuration.namespaces ?? .current
        func chose(_ watchers: KernelWatchers, _ reason: String) -> KernelWatchers {
            let missing = watchers.missing.reduce(ProcessEventKinds()) { $0.union($1.kinds) }
            let why = ([reason] + watchers.missing.map(\.reason) + [namespaces.kernelNote].compactMap { $0 })
                .joined(separator: "; ")
            state.choice = BackendChoice(backend: .bpf, reason: why, missingKinds: missing)
            return watchers
        }
        switch configuration.backend {
        case .connector:
            state.choice = BackendChoice(backend: .connector, reason: "asked for")
            return nil
        case .bpf:
            return chose(try open(), "asked for")
        case .procfs:
            state.choice = BackendChoice(backend: .procfs, reason: "asked for; scanning /proc every "
                + "\(configuration.procScan.intervalMilliseconds) ms: processes that live shorter are counted as lost, not shown")
            return nil
        case .auto:
            // (In a user namespace too, but there BPF's own refusal is the better reason.)
            if namespaces.isNestedPIDNamespace, namespaces.userMap == nil, configuration.procScan.wantsNamespacePIDs {
                state.choice = BackendChoice(backend: .procfs, reason: namespaces.procScanReason(
                    kernelRefusal: "the kernel's sources name processes by the initial namespace's pids",
                    interval: configuration.procScan))
                return nil
            }
            do throws(ProcWatchError) {
                return chose(try open(), "the BPF programs loaded and attached")
            } catch {
                let reason = if case .kernelWatchersUnavailable(let reason) = error { reason } else { error.description }
                // The kernel ignores a LISTEN from here (no ack): not worth the wait for one.
                if namespaces.connectorIgnoresListen, configuration.procScan.standsInUnderAuto {
                    state.choice = BackendChoice(backend: .procfs, reason: namespaces.procScanReason(
                        kernelRefusal: "eBPF is refused (\(reason)) and the connector ignores LISTEN from here",
                        interval: configuration.procScan))
                    return nil
                }
                state.choice = BackendChoice(backend: .connector, reason: "BPF unavailable: \(reason)")
                return nil
            }
        }
    }

    /// When some kinds' programs did not attach, subscribes the connector for those kinds
    /// alone (``ConnectorFallback``) and says so in the backend choice. Without the
    /// connector (refused, another namespace …) the session goes on without those kinds.
    private func startFallback(for session: KernelWatcherSession, _ state: inout State) {
        guard let choice = state.choice else { return }
        let kinds = choice.missingKinds.intersection(.kernelBits)
        guard !kinds.isEmpty else { return }
        // The kernel ignores a LISTEN from here: not worth waiting for an ack that never comes.
        if (configuration.namespaces ?? .current).connectorIgnoresListen {
            state.choice?.reason += "; the connector cannot stand in: it ignores LISTEN from this namespace"
            return
        }
        let fallback = ConnectorFallback(kinds: kinds) { [weak session] in session?.wake() }
        fallback.want(ProcessEventKinds(rawValue: session.filterMask)) { _ in 0 }
        do throws(ProcWatchError) {
            let connector = try startSession(subscribers: [fallback.subscriber], stage: nil, watchers: nil) {
                [weak self, weak session] error in
                // The stand-in failed: the whole source ends with its error, as a reader's would.
                guard let self, let session else { return }
                session.requestStop()
                sessionFailed(session, error: error)
            }
            fallback.started(connector)
            session.fallback.withLock { $0 = fallback }
            state.choice?.connectorKinds = kinds
        } catch {
            state.choice?.reason += "; the connector could not stand in: \(error)"
        }
    }

    /// Starts the chosen backend's session; under ``Backend/auto`` in a namespace of its
    /// own, when the connector is refused too (another network namespace), the /proc scanner's.
    private func startChosenSession(watchers: KernelWatchers?, _ state: inout State) throws(ProcWatchError) -> any SourceSession {
        if state.choice?.backend == .procfs { return try startProcScanSession(subscribers: state.subscribers, stage: state.stage) }
        do throws(ProcWatchError) {
            return try startSession(subscribers: state.subscribers, stage: state.stage, watchers: watchers)
        } catch {
            // Every kernel source refused this user: in a namespace of its own, or in the
            // initial ones without CAP_BPF on a kernel whose connector wants CAP_NET_ADMIN to
            // bind (kernels differ: some let any user listen). Where a daemon's socket is there
            // the front ends turn to it (standsInUnderAuto is false); elsewhere the scanner
            // stands in, as pspy works, rather than nothing.
            let namespaces = configuration.namespaces ?? .current
            let refused = switch error {
            case .permissionDenied, .otherNetworkNamespace, .subscriptionIgnored, .subscriptionRejected: true
            default: namespaces.summary != nil
            }
            guard configuration.backend == .auto, configuration.procScan.standsInUnderAuto, watchers == nil,
                  refused, let bpfRefusal = state.choice?.reason else { throw error }
            state.choice = BackendChoice(backend: .procfs, reason: namespaces.procScanReason(
                kernelRefusal: "\(bpfRefusal); the connector: \(error)", interval: configuration.procScan))
            // The stage was made for the connector: it reads no taskstats under the scanner.
            if state.stage != nil {
                state.stage?.close()
                state.stage = nil
                startEnrichment(&state)
            }
            return try startProcScanSession(subscribers: state.subscribers, stage: state.stage)
        }
    }

    private func startProcScanSession(subscribers: [EventSubscriber], stage: EnrichmentStage?) throws(ProcWatchError) -> ProcScanSession {
        let files = (makeFiles() as? any ProcScanFiles) ?? ProcFS()
        let session = try ProcScanSession(options: configuration.procScan, files: files, subscribers: subscribers)
        session.setStage(stage)
        do throws(ProcWatchError) {
            try ReaderThread.spawn(name: "procwatch-scan") { session.run() }
        } catch {
            session.requestStop()
            throw error
        }
        return session
    }

    private func startKernelWatcherSession(_ watchers: KernelWatchers, subscribers: [EventSubscriber],
                                           stage: EnrichmentStage?) throws(ProcWatchError) -> KernelWatcherSession {
        let session: KernelWatcherSession
        do throws(ProcWatchError) {
            session = try KernelWatcherSession(watchers: watchers, options: configuration.kernelWatchers,
                                               subscribers: subscribers, mask: kernelWatcherMask(for: subscribers))
        } catch {
            watchers.close()
            throw error
        }
        session.setStage(stage)
        let reader = RingBufferReader(session: session, logger: configuration.logger) { [weak self] error in
            self?.sessionFailed(session, error: error)
        }
        do throws(ProcWatchError) {
            try ReaderThread.spawn(name: "procwatch-bpf") { reader.run() }
        } catch {
            session.close()
            throw error
        }
        return session
    }
}

extension Session {
    /// Sends the connector's new filter (`mask`) unless it is already in force.
    func applyFilter(_ mask: UInt32) {
        let session = self
        guard session.kernelMask.exchange(mask, ordering: .acquiringAndReleasing) != mask else { return }
        // Back to everything: the ack of this request reaches us (it passes an ALL filter)
        // and tells the reader where gap-free numbering starts again.
        var nonce: UInt32 = 0
        if mask == ProcessEventSource.allEvents {
            nonce = UInt32.random(in: 1...0x7FFF_FFFF)
            session.widenedFilterAck.store(nonce &+ 1, ordering: .releasing)
        }
        session.filterGeneration.add(1, ordering: .releasing)
        try? SignalRelease.sendRaising(slot: session.signalSlot) { () throws(NetlinkError) in
            try session.transport.send(SubscriptionRequest.filter(ProcessEventKinds(rawValue: mask), acknowledgement: nonce))
        }
    }
}

extension ProcessEventSource {
    /// Starts a session of the kernel-side watchers, or else of the connector; `failed`
    /// hears of a reader's fatal error (by default, every consumer is finished with it).
    fileprivate func startSession(subscribers: [EventSubscriber], stage: EnrichmentStage?, watchers: KernelWatchers?,
                                  failed: (@Sendable (ProcWatchError) -> Void)? = nil) throws(ProcWatchError) -> any SourceSession {
        if let watchers { return try startKernelWatcherSession(watchers, subscribers: subscribers, stage: stage) }
        let transport = try openTransport()
        let batch = DatagramBatch(capacity: 64, slotSize: 1024)
        let session = Session(transport: transport, subscribers: subscribers, stage: stage)
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
        if mask != ProcessEventSource.allEvents {
            session.kernelMask.store(mask, ordering: .relaxed)
            do throws(ProcWatchError) {
                try Handshake.send(SubscriptionRequest.filter(ProcessEventKinds(rawValue: mask), acknowledgement: 0),
                                   on: transport, signalSlot: session.signalSlot)
            } catch {
                session.close()
                throw error
            }
        }
        if stage != nil { session.keepExecsFromWaiting(timeout: configuration.acknowledgementTimeout) }
        let reader = EventReader(session: session, batch: batch, pendingAfterAck: pending, logger: configuration.logger) { [weak self] error in
            if let failed { failed(error) } else { self?.sessionFailed(session, error: error) }
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
    fileprivate func sessionFailed(_ session: any SourceSession, error: ProcWatchError) {
        let finished: [EventSubscriber] = state.withLock { state in
            guard state.session === session else { return [] }
            state.session = nil
            state.stage = nil
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
    /// The enrichment stage, once a consumer wants one; the reader takes it at each batch.
    let stage: Mutex<EnrichmentStage?>
    let kernelMask = Atomic<UInt32>(ProcessEventSource.allEvents)
    let filterGeneration = Atomic<Int>(0)
    /// The ack number of the latest request that widened the filter back to everything.
    let widenedFilterAck = Atomic<UInt32>(0)
    let stopRequested = Atomic<Bool>(false)
    let readerThread = Atomic<UInt>(0)
    let finished = DispatchSemaphore(value: 0)
    private let slot = Mutex<Int?>(nil)

    init(transport: any NetlinkTransport, subscribers: [EventSubscriber], stage: EnrichmentStage?) {
        self.transport = transport
        self.subscribers = Mutex(subscribers)
        self.stage = Mutex(stage)
    }

    var signalSlot: Int? {
        get { slot.withLock { $0 } }
        set { slot.withLock { $0 = newValue } }
    }

    func requestStop() {
        stopRequested.store(true, ordering: .releasing)
        transport.wake()
    }

    /// The exec doorbell, while execs are read from /proc (see ``ExecDoorbell``).
    private let doorbell = Mutex<ExecDoorbell?>(nil)

    /// Makes sure no coalescing pause delays an exec: rings pauses off with an exec
    /// doorbell, or turns pauses off where the kernel cannot filter one. Only the real
    /// socket pauses; a scripted transport has nothing to do.
    func keepExecsFromWaiting(timeout: Duration) {
        guard let socket = transport as? NetlinkSocket else { return }
        doorbell.withLock { doorbell in
            guard doorbell == nil else { return }
            doorbell = ExecDoorbell.open(timeout: timeout)
            if let doorbell { socket.ringPausesOff(by: doorbell.socket) } else { socket.setCoalescing(false) }
        }
    }

    /// IGNORE, forget the signal slot, close — the doorbell too. Called once, by whoever
    /// ends the session.
    func close() {
        Handshake.releaseAndClose(transport, signalSlot: signalSlot)
        if let socket = transport as? NetlinkSocket { socket.ringPausesOff(by: nil) }
        doorbell.withLock { $0?.close() }
        stage.withLock { $0?.close() }
    }
}
