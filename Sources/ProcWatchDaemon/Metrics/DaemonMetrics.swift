import CoreMetrics
import Prometheus
import ProcWatch
import Synchronization

/// The daemon's Prometheus metrics: swift-metrics counters and gauges whose backend is a
/// ``registry`` of this instance's own.
///
/// Nothing here bootstraps swift-metrics' global `MetricsSystem` (that can happen once per
/// process, and the daemon's libraries must not take that decision): every metric is made
/// by this instance's registry, with its HELP text, and wrapped in a swift-metrics object
/// through ``factory``, so that several instances (one per test) live side by side. Other
/// parts of the daemon may make their own swift-metrics objects with ``factory``.
///
/// The reader thread calls ``record(_:)`` once per kernel batch: it counts the batch in
/// local variables and then updates each counter that changed once, so that the cost per
/// event is a few additions and the atomic updates are per batch.
///
/// ```swift
/// let metrics = DaemonMetrics(topPrograms: 20)
/// metrics.record(batch)                       // reader thread
/// metrics.historyCommitted(through: newest)   // history writer
/// metrics.clientConnected(id: 7)              // fan-out
/// let text = metrics.exposition()             // the /metrics body
/// ```
public final class DaemonMetrics: Sendable {
    /// The registry every metric of this instance lives in; its `emit(into:)` writes them.
    public let registry: PrometheusCollectorRegistry
    /// A swift-metrics factory backed by ``registry``, for metrics of other components
    /// (made without HELP text: the Prometheus factory has no place for one).
    public let factory: PrometheusMetricsFactory
    /// How many programs may have their own `procwatch_execs_total` series (N).
    public let topPrograms: Int

    /// `procwatch_events_total{kind}`, by ``EventKind/index``.
    private let events: [CoreMetrics.Counter?]
    /// `procwatch_lost_events_total{reason}`.
    private let lost: [LossReason: CoreMetrics.Counter]
    private let processesStarted: CoreMetrics.Counter
    private let processesFailed: CoreMetrics.Counter
    private let execFailed: CoreMetrics.Counter
    private let refusedRequests: CoreMetrics.Counter
    private let clients: CoreMetrics.Gauge
    private let recordingLag: CoreMetrics.Gauge
    private let historyBytes: CoreMetrics.Gauge
    private let sinkLag: CoreMetrics.Gauge
    private let spooledBytes: CoreMetrics.Gauge
    /// The `other` series of `procwatch_execs_total`.
    private let otherExecs: CoreMetrics.Counter
    /// The slots of `procwatch_execs_total` and their counters, in admission order.
    private let programs: Mutex<(slots: ProgramSlots, counters: [CoreMetrics.Counter])>
    /// `procwatch_client_queue_depth{client}`, per connected client.
    private let queueDepths = Mutex<[UInt64: CoreMetrics.Gauge]>([:])
    private let lag = Mutex(RecordingLag())
    /// CLOCK_MONOTONIC nanoseconds now (the kernel's event clock); a test's own clock.
    private let clock: @Sendable () -> UInt64

    /// A new set of metrics in a registry of its own. `topPrograms` (N, default 20) programs
    /// at most get their own `procwatch_execs_total` series over the daemon's life, each
    /// once it was seen `programAdmission` times (default 3) while a slot was free; see
    /// ``ProgramSlots`` for the rule and its error.
    public convenience init(topPrograms: Int = 20, programAdmission: Int = 3) {
        self.init(topPrograms: topPrograms, programAdmission: programAdmission, clock: { Clocks.monotonicNanoseconds() })
    }

    /// The same, with the clock the recording lag is measured against.
    package init(topPrograms: Int, programAdmission: Int, clock: @escaping @Sendable () -> UInt64) {
        let registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: registry)
        self.registry = registry
        self.factory = factory
        self.topPrograms = topPrograms
        self.clock = clock
        func counter(_ name: Name, _ labels: [(String, String)] = []) -> CoreMetrics.Counter {
            CoreMetrics.Counter(label: name.rawValue, dimensions: labels,
                                handler: registry.makeCounter(name: name.rawValue, labels: labels, help: name.help), factory: factory)
        }
        func gauge(_ name: Name) -> CoreMetrics.Gauge {
            CoreMetrics.Gauge(label: name.rawValue, dimensions: [], aggregate: false,
                              handler: registry.makeGauge(name: name.rawValue, help: name.help), factory: factory)
        }
        // Every series that can exist from the start does, at 0: a series that appears with
        // its first increment hides that increment from `rate()` and `increase()`.
        var events = [CoreMetrics.Counter?](repeating: nil, count: EventKind.indexCount)
        for kind in EventKind.allCases { events[kind.index] = counter(.events, [("kind", kind.name)]) }
        self.events = events
        lost = Dictionary(uniqueKeysWithValues: LossReason.allCases.map { ($0, counter(.lostEvents, [("reason", $0.rawValue)])) })
        processesStarted = counter(.processesStarted)
        processesFailed = counter(.processesFailed)
        execFailed = counter(.execFailed)
        refusedRequests = counter(.refusedRequests)
        otherExecs = counter(.execs, [("program", Self.otherProgram)])
        clients = gauge(.clients)
        recordingLag = gauge(.recordingLag)
        historyBytes = gauge(.historyBytes)
        sinkLag = gauge(.sinkLag)
        spooledBytes = gauge(.spooledBytes)
        programs = Mutex((ProgramSlots(capacity: topPrograms, admission: programAdmission), []))
    }

    /// The `program` label of the execs of programs without a series of their own, and of
    /// execs whose program is unknown (a process gone before /proc could be read).
    public static let otherProgram = "other"

    // MARK: - The reader's batches

    /// Counts one kernel batch: events by kind, losses by reason, processes started
    /// (`fork` of a process, not a thread) and failed (a process's `exit` with a status
    /// other than `exit(0)`), failed execs, and execs by program. Also notes the batch's
    /// event times for the recording lag.
    public func record(_ batch: some Sequence<EnrichedEvent>) {
        var kinds = [Int](repeating: 0, count: EventKind.indexCount)
        var lostCounts: [LossReason: Int] = [:]
        var started = 0
        var failed = 0
        var execs: [String: Int] = [:]
        var unnamedExecs = 0
        var oldest = UInt64.max
        var newest: UInt64 = 0
        for enriched in batch {
            let event = enriched.event
            oldest = min(oldest, event.timestamp.monotonicNanoseconds)
            newest = max(newest, event.timestamp.monotonicNanoseconds)
            switch event.detail {
            case .lost(let count, let reason, _):
                // An unknown count adds nothing: an unfiltered `enobufs` is followed by the
                // `seq_gap` reports that carry its exact count.
                lostCounts[reason, default: 0] += count ?? 0
                continue
            case .fork(_, let child):
                if !child.isThread { started += 1 }
            case .exit(let task, let waitStatus, _, _):
                if !task.isThread, waitStatus != 0 { failed += 1 }
            case .exec:
                if let program = enriched.process?.programName { execs[program, default: 0] += 1 } else { unnamedExecs += 1 }
            default:
                break
            }
            if let kind = event.detail.eventKind { kinds[kind.index] += 1 }
        }
        for kind in EventKind.allCases where kinds[kind.index] > 0 { events[kind.index]?.increment(by: kinds[kind.index]) }
        for (reason, count) in lostCounts where count > 0 { lost[reason]?.increment(by: count) }
        if started > 0 { processesStarted.increment(by: started) }
        if failed > 0 { processesFailed.increment(by: failed) }
        let failedExecs = kinds[EventKind.execFailed.index]
        if failedExecs > 0 { execFailed.increment(by: failedExecs) }
        if !execs.isEmpty || unnamedExecs > 0 { countExecs(execs, unnamed: unnamedExecs) }
        if newest > 0 { lag.withLock { $0.received(oldest: oldest, newest: newest) } }
    }

    /// Adds a batch's execs by program to their series, admitting programs into free slots.
    private func countExecs(_ execs: [String: Int], unnamed: Int) {
        var other = unnamed
        programs.withLock { programs in
            // The batch's most frequent programs first (then by name, for a fixed order):
            // when one slot is left, the program that ran most in the batch takes it.
            for (program, count) in execs.sorted(by: { ($0.value, $1.key) > ($1.value, $0.key) }) {
                switch programs.slots.place(program, count: count) {
                case .own(let index):
                    if index == programs.counters.count {
                        let labels = [("program", program)]
                        programs.counters.append(CoreMetrics.Counter(
                            label: Name.execs.rawValue, dimensions: labels,
                            handler: registry.makeCounter(name: Name.execs.rawValue, labels: labels, help: Name.execs.help),
                            factory: factory))
                    }
                    programs.counters[index].increment(by: count)
                case .other:
                    other += count
                }
            }
        }
        if other > 0 { otherExecs.increment(by: other) }
    }

    /// Counts `count` events lost outside the kernel batches (a client's `backlog`).
    public func lost(_ count: Int, reason: LossReason) {
        if count > 0 { lost[reason]?.increment(by: count) }
    }

    // MARK: - History

    /// The history committed every event up to `time` (the newest event of the commit).
    public func historyCommitted(through time: EventTimestamp) {
        lag.withLock { $0.committed(through: time.monotonicNanoseconds) }
    }

    /// The history's size on disk now, in bytes.
    public func historySize(bytes: Int) {
        historyBytes.record(bytes)
    }

    // MARK: - Fleet sink

    /// The sink's lag (seconds) and the bytes it holds, as sampled now.
    public func sinkSampled(lagSeconds: Double, spooledBytes bytes: Int) {
        sinkLag.record(lagSeconds)
        spooledBytes.record(bytes)
    }

    // MARK: - Clients

    /// A client connected: it gets a `procwatch_client_queue_depth` series at 0.
    public func clientConnected(id: UInt64) {
        let labels = [("client", String(id))]
        let depth = CoreMetrics.Gauge(label: Name.queueDepth.rawValue, dimensions: labels, aggregate: false,
                                      handler: registry.makeGauge(name: Name.queueDepth.rawValue, labels: labels, help: Name.queueDepth.help),
                                      factory: factory)
        depth.record(0)
        let count = queueDepths.withLock { depths in
            depths[id] = depth
            return depths.count
        }
        clients.record(count)
    }

    /// A client disconnected: its queue depth series is removed.
    public func clientDisconnected(id: UInt64) {
        let (gauge, count) = queueDepths.withLock { depths in (depths.removeValue(forKey: id), depths.count) }
        gauge?.destroy()
        clients.record(count)
    }

    /// How many events wait in a connected client's queue now (ignored for one not connected).
    public func queueDepth(id: UInt64, depth: Int) {
        queueDepths.withLock { $0[id] }?.record(depth)
    }

    /// A client's request was refused.
    public func requestRefused() {
        refusedRequests.increment()
    }

    // MARK: - Exposition

    /// Writes every metric in the Prometheus text exposition format (0.0.4), the recording
    /// lag measured now.
    public func emit(into buffer: inout [UInt8]) {
        let now = clock()
        recordingLag.record(lag.withLock { $0.seconds(now: now) })
        registry.emit(into: &buffer)
    }

    /// The text exposition, as ``emit(into:)`` writes it.
    public func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        emit(into: &buffer)
        return buffer
    }
}
