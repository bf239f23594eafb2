import Logging
import Synchronization

/// Task watchers: functions called whenever a process forks, execs, changes its ids,
/// starts a session, is traced, renames itself, dumps core or exits.
///
/// One chain of watchers per event kind. Registering is one line:
///
/// ```swift
/// let watchers = ProcessWatchers()
/// watchers.on(.exec) { event in print("exec", event.pid!) }
/// try watchers.start()
/// ```
///
/// Watchers run on the source's reader thread, one event at a time, in kernel order;
/// within a chain by ascending `order`, then by registration. A watcher that returns
/// `.stop` skips the rest of the chain for that event; one that throws is reported to
/// the failure handlers and the logger, and the chain goes on. `lost` events reach
/// every watcher, whatever kinds it asked for: nothing is dropped silently.
///
/// All registries in a process share one kernel subscription (``ProcessEventSource/shared``).
public final class ProcessWatchers: Sendable {
    private struct Entry: Sendable {
        var id: Int
        var kinds: ProcessEventKinds
        var order: Int
        var scope: WatcherScope
        /// Whether it reads the process table's view (registered with `onEnriched`/`interceptEnriched`).
        var enriched: Bool
        var body: @Sendable (EnrichedEvent) throws -> WatcherChain
    }

    private struct Registry {
        var entries: [Entry] = []
        /// `entries` split by event kind (index from `chainIndex`), each in run order.
        var chains: [[Entry]] = Array(repeating: [], count: ProcessWatchers.chainCount)
        var nextID = 1
        var failureHandlers: [@Sendable (WatcherFailure) -> Void] = []
        var batchEndHandlers: [@Sendable () -> Void] = []

        mutating func rebuildChains() {
            let ordered = entries.sorted { ($0.order, $0.id) < ($1.order, $1.id) }
            chains = (0..<ProcessWatchers.chainCount).map { index in
                ordered.filter { index == ProcessWatchers.lostChain || !$0.kinds.isDisjoint(with: ProcessWatchers.kinds(ofChain: index)) }
            }
        }

        /// Whether any watcher needs the enrichment stage.
        var wantsEnrichment: Bool { entries.contains { $0.enriched } }

        var interest: ProcessEventKinds {
            var union = ProcessEventKinds()
            for entry in entries {
                union.formUnion(entry.kinds)
                if case .tree = entry.scope { union.formUnion([.fork, .exit]) }
            }
            return union
        }
    }

    private let source: ProcessEventSource
    private let logger: Logger
    private let registry = Mutex(Registry())
    private let trees = Mutex<[Int32: ProcessTree]>([:])
    private let subscription = Mutex<EventSubscriber?>(nil)
    /// The current subscription's end: which start it belongs to, whether and how it ended,
    /// and the `run()` calls waiting for it.
    private struct Ending {
        var generation = 0
        var ended = false
        var error: ProcWatchError?
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let ending = Mutex(Ending())
    private let failures = Atomic<Int>(0)
    private let weakSelf = Mutex<WeakRegistry?>(nil)

    /// Creates an empty registry on `source`; `logger` receives watcher failures.
    public init(source: ProcessEventSource = .shared, logger: Logger? = nil) {
        self.source = source
        self.logger = logger ?? source.configuration.logger
    }

    deinit {
        if let subscriber = subscription.withLock({ $0 }) { source.unsubscribe(subscriber) }
    }

    // MARK: Registering

    /// Registers a watcher for `kinds` that decides whether the rest of its chain runs:
    /// it returns `.continue` or `.stop`.
    ///
    /// ```swift
    /// watchers.intercept(.exec, order: -1) { event in event.pid == 1 ? .stop : .continue }
    /// ```
    @discardableResult
    public func intercept(
        _ kinds: ProcessEventKinds, scope: WatcherScope = .everyProcess, order: Int = 0,
        _ body: @escaping @Sendable (ProcessEvent) throws -> WatcherChain
    ) -> WatcherHandle {
        register(kinds, scope: scope, order: order, enriched: false) { try body($0.event) }
    }

    /// Registers a watcher for `kinds` that lets the rest of the chain run.
    @discardableResult
    public func on(
        _ kinds: ProcessEventKinds, scope: WatcherScope = .everyProcess, order: Int = 0,
        _ body: @escaping @Sendable (ProcessEvent) throws -> Void
    ) -> WatcherHandle {
        register(kinds, scope: scope, order: order, enriched: false) { enriched in
            try body(enriched.event)
            return .continue
        }
    }

    /// Registers a watcher for `kinds` that gets each event with the process table's view of
    /// it — the command line and name read at exec, the name before a rename, the exit
    /// record — and decides whether the rest of its chain runs.
    @discardableResult
    public func interceptEnriched(
        _ kinds: ProcessEventKinds, scope: WatcherScope = .everyProcess, order: Int = 0,
        _ body: @escaping @Sendable (EnrichedEvent) throws -> WatcherChain
    ) -> WatcherHandle {
        register(kinds, scope: scope, order: order, enriched: true, body)
    }

    /// Registers a watcher for `kinds` that gets each event with the process table's view
    /// of it, and lets the rest of the chain run:
    ///
    /// ```swift
    /// watchers.onEnriched(.exec) { enriched in
    ///     print(enriched.process?.commandLine.joined(separator: " ") ?? "?")
    /// }
    /// ```
    @discardableResult
    public func onEnriched(
        _ kinds: ProcessEventKinds, scope: WatcherScope = .everyProcess, order: Int = 0,
        _ body: @escaping @Sendable (EnrichedEvent) throws -> Void
    ) -> WatcherHandle {
        register(kinds, scope: scope, order: order, enriched: true) { enriched in
            try body(enriched)
            return .continue
        }
    }

    private func register(
        _ kinds: ProcessEventKinds, scope: WatcherScope, order: Int, enriched: Bool,
        _ body: @escaping @Sendable (EnrichedEvent) throws -> WatcherChain
    ) -> WatcherHandle {
        let handle = registry.withLock { registry in
            let id = registry.nextID
            registry.nextID += 1
            registry.entries.append(Entry(id: id, kinds: kinds, order: order, scope: scope, enriched: enriched, body: body))
            registry.rebuildChains()
            return WatcherHandle(id: id, registry: weakReference())
        }
        if case .tree(let root) = scope {
            trees.withLock { trees in
                if trees[root] == nil { trees[root] = ProcessTree(root: root, includingLiveDescendants: true) }
            }
        }
        interestChanged()
        return handle
    }

    /// Registers a handler called whenever a watcher throws.
    public func onFailure(_ handler: @escaping @Sendable (WatcherFailure) -> Void) {
        registry.withLock { $0.failureHandlers.append(handler) }
    }

    /// Registers a function called on the reader thread each time the events of one kernel
    /// read (up to 64 messages) have gone through the watchers, before the reader waits for
    /// more. The place to flush what watchers buffered: output then costs one write per
    /// batch instead of one per event, and still appears as soon as its events are handled.
    public func onBatchEnd(_ handler: @escaping @Sendable () -> Void) {
        registry.withLock { $0.batchEndHandlers.append(handler) }
    }

    /// Unregisters a watcher.
    public func remove(_ handle: WatcherHandle) {
        let removedScope: WatcherScope? = registry.withLock { registry in
            guard let index = registry.entries.firstIndex(where: { $0.id == handle.id }) else { return nil }
            let scope = registry.entries.remove(at: index).scope
            registry.rebuildChains()
            if case .tree(let root) = scope,
               registry.entries.contains(where: { $0.scope == .tree(root: root) }) { return nil }
            return scope
        }
        if case .tree(let root) = removedScope { trees.withLock { _ = $0.removeValue(forKey: root) } }
        interestChanged()
    }

    /// How many times a watcher has thrown.
    public var failureCount: Int { failures.load(ordering: .relaxed) }

    /// The pids currently in the tree rooted at `root` (for `.tree(root:)` watchers).
    public func members(ofTree root: Int32) -> Set<Int32> {
        trees.withLock { $0[root]?.members ?? [] }
    }

    // MARK: Running

    /// Subscribes (sharing the source's kernel subscription) and starts calling watchers.
    /// Returns once the kernel acknowledged; calling it again while started does nothing.
    public func start() throws(ProcWatchError) {
        try subscription.withLock { (current: inout EventSubscriber?) throws(ProcWatchError) in
            guard current == nil else { return }
            let generation = ending.withLock { state in
                state.generation += 1
                state.ended = false
                state.error = nil
                return state.generation
            }
            let (kinds, enriched) = registry.withLock { ($0.interest, $0.wantsEnrichment) }
            current = try source.subscribe(
                kinds: kinds, enriched: enriched,
                deliver: { [weak self] event in self?.dispatch(event) },
                batchEnded: { [weak self] in self?.batchEnded() },
                finish: { [weak self] error in self?.ended(error, generation: generation) })
        }
    }

    /// Stops calling watchers; the kernel subscription is released when no one else uses it.
    public func stop() {
        guard let subscriber = subscription.withLock({ current in defer { current = nil }; return current }) else { return }
        source.unsubscribe(subscriber)
    }

    /// Starts, then waits until the calling task is cancelled (then stops and returns) or the
    /// source fails (then throws).
    public func run() async throws(ProcWatchError) {
        try start()
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = ending.withLock { state -> Bool in
                    if state.ended { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            stop()
        }
        stop()
        if let error = ending.withLock({ $0.error }) { throw error }
    }

    // MARK: Dispatch (reader thread)

    /// One chain per ``EventKind/index``, and the last one for `lost`.
    static let chainCount = EventKind.indexCount + 1
    static let lostChain = EventKind.indexCount

    /// The kinds a watcher must ask for to be on a chain (none for `lost`: every watcher is).
    static func kinds(ofChain index: Int) -> ProcessEventKinds {
        EventKind.allCases.first { $0.index == index }?.selectingBits ?? []
    }

    static func chainIndex(of event: ProcessEvent) -> Int {
        event.detail.eventKind?.index ?? lostChain
    }

    /// Runs the watchers on `event` as the reader thread would, without a kernel.
    /// SPI (`Benchmarks`): for timing the dispatch alone.
    @_spi(Benchmarks) public func dispatchForBenchmark(_ event: ProcessEvent) { dispatch(EnrichedEvent(event: event)) }

    private func dispatch(_ enriched: EnrichedEvent) {
        let event = enriched.event
        let chain = registry.withLock { $0.chains[Self.chainIndex(of: event)] }
        let tracksTrees = !trees.withLock { $0.isEmpty }
        if tracksTrees { trees.withLock { for key in $0.keys { $0[key]!.admit(event) } } }
        for entry in chain {
            if event.kind != nil, !entry.kinds.admits(event) { continue }
            if !inScope(entry.scope, event) { continue }
            do {
                if try entry.body(enriched) == .stop { break }
            } catch {
                reportFailure(WatcherFailure(watcher: WatcherHandle(id: entry.id, registry: weakReference()), event: event, error: error))
            }
        }
        if tracksTrees { trees.withLock { for key in $0.keys { $0[key]!.retire(event) } } }
    }

    private func batchEnded() {
        for handler in registry.withLock({ $0.batchEndHandlers }) { handler() }
    }

    private func inScope(_ scope: WatcherScope, _ event: ProcessEvent) -> Bool {
        switch scope {
        case .everyProcess:
            return true
        case .process(let pid):
            guard let subject = event.subject else { return event.kind == nil }
            if case .fork(let parent, _) = event.detail, parent.pid == pid { return true }
            return subject.pid == pid
        case .tree(let root):
            guard let subject = event.subject else { return event.kind == nil }
            return trees.withLock { $0[root]?.contains(subject.pid) ?? false }
        }
    }

    private func reportFailure(_ failure: WatcherFailure) {
        failures.add(1, ordering: .relaxed)
        logger.warning("watcher \(failure.watcher.id) threw on a \(failure.event.name) event: \(failure.error)")
        let handlers = registry.withLock { $0.failureHandlers }
        for handler in handlers { handler(failure) }
    }

    /// The subscription of start number `generation` ended; a stale one (after a newer
    /// start) changes nothing.
    private func ended(_ error: ProcWatchError?, generation: Int) {
        let waiters = ending.withLock { state -> [CheckedContinuation<Void, Never>]? in
            guard state.generation == generation else { return nil }
            state.ended = true
            state.error = error
            defer { state.waiters = [] }
            return state.waiters
        }
        guard let waiters else { return }
        if error != nil { subscription.withLock { $0 = nil } }
        for waiter in waiters { waiter.resume() }
    }

    private func interestChanged() {
        guard let subscriber = subscription.withLock({ $0 }) else { return }
        let (kinds, enriched) = registry.withLock { ($0.interest, $0.wantsEnrichment) }
        source.update(subscriber, kinds: kinds, enriched: enriched)
    }

    private func weakReference() -> WeakRegistry {
        weakSelf.withLock { stored in
            if let stored { return stored }
            let created = WeakRegistry(self)
            stored = created
            return created
        }
    }
}
