import Logging
import PostgresNIO
import ProcWatch
import ProcWatchStore
import Synchronization

/// Writes a recording into the fleet store: the same events and process rows the SQLite
/// recorder takes (``record(_:stored:)``, ``follow(_:)``, called on the reader thread, only
/// append to memory), sealed into a ``FleetBatch`` every ``sealInterval`` seconds by
/// ``run()`` — off the reader thread — and written in order, each batch once.
///
/// While the server cannot be reached the batches wait in the spool (``FleetSpool``: memory,
/// then files); ``run()`` connects again after 1 s, 2 s, 4 s… at most 10 s, and says so in one
/// log line when the server goes away and one when it is back. Every network operation is
/// bounded (``OperationGate``): a connection that closes, or does not answer within
/// ``operationSeconds``, counts as lost — the batch stays spooled and is written again after
/// the next connection, once (its `batches` claim). Past the spool's bounds a
/// batch is dropped and its events counted: the next batch begins with a `lost` event
/// (reason `spool`) of that exact count, so nothing is lost silently.
public final class FleetSink: RecordingDestination, Sendable {
    /// Seconds between batches.
    public static let sealInterval = 0.1
    /// The longest wait between two connection attempts.
    static let maximumBackoff = 10.0
    /// The longest a batch's transaction or the partitions' upkeep may take before the
    /// connection counts as lost (connecting: the URL's `connect_timeout` more).
    static let operationSeconds = 30.0
    /// The longest a retention pass may take (it deletes in steps; what is left waits an hour).
    static let retentionSeconds = 300.0
    /// The longest the sink waits for a connection's close when it stops.
    static let closeSeconds = 2.0

    private struct Recording {
        var encoder: BatchEncoder
        /// The end, once ``finish(reason:waitingUpTo:)`` asked for it.
        var end: FleetRecordingEnd?
    }

    private struct Queue {
        var spool: FleetSpool
        /// Events dropped and not yet reported by a sealed batch's `lost` row.
        var unreported = 0
        var status = FleetSinkStatus(connected: false, lagSeconds: 0, spooledBatches: 0, spooledMemoryBytes: 0,
                                     spooledFileBytes: 0, writtenEvents: 0, droppedEvents: 0, waitingEvents: 0)
        var newestWritten: Int64?
        /// When the sink began (Unix nanoseconds): the lag's reference before anything was written.
        let began = StoreClock.unixNanoseconds()
        var finishing = false
        var stopped = false
        /// Set by ``run()`` once the last batch (the recording's end) is written and nothing waits.
        var drained = false
    }

    private let connector: FleetConnector
    private let host: LocalMachine
    private let logger: Logger
    private let recording: Mutex<Recording>
    private let queue: Mutex<Queue>
    private let connection = Mutex<(PostgresConnection, hostID: Int)?>(nil)
    /// Bounds each network operation, and ends the one in flight when ``finish(reason:waitingUpTo:)`` stops the sink.
    private let gate = OperationGate()
    /// How long the store keeps rows (``FleetRetention``), nil: forever.
    private let keep: Duration?
    /// How `events` rows are sent (``BatchWriter/Method/copy`` but for the benchmark).
    let method: BatchWriter.Method

    /// A sink for a new recording described by `session`, spooling within `limits`.
    /// Nothing connects before ``start()``.
    /// `keep`: the retention the sink applies to the store once an hour (nil: none).
    public convenience init(connector: FleetConnector, host: LocalMachine, session: RecordingSession, limits: FleetSpoolLimits,
                            keep: Duration? = nil, logger: Logger) {
        self.init(connector: connector, host: host, session: session, limits: limits, keep: keep, method: .copy, logger: logger)
    }

    init(connector: FleetConnector, host: LocalMachine, session: RecordingSession, limits: FleetSpoolLimits,
         keep: Duration?, method: BatchWriter.Method, logger: Logger) {
        self.keep = keep
        self.connector = connector
        self.host = host
        self.logger = logger
        self.method = method
        recording = Mutex(Recording(encoder: BatchEncoder(session: session, bootID: host.bootID)))
        queue = Mutex(Queue(spool: FleetSpool(limits: limits)))
    }

    /// The server, as logs may name it (without a password).
    public var server: String { connector.url.redacted }

    /// The recording's UUID (its `procwatch.recordings` id).
    public var recordingID: String { recording.withLock { $0.encoder.recording.uuidString.lowercased() } }

    /// Adds an event to the next batch (see ``ProcWatchStore/Recorder/record(_:stored:)``).
    public func record(_ enriched: EnrichedEvent, stored: Bool = true) {
        recording.withLock { $0.encoder.record(enriched, stored: stored) }
    }

    /// Applies an unselected event to its process's row (see ``ProcWatchStore/Recorder/follow(_:)``).
    public func follow(_ enriched: EnrichedEvent) {
        recording.withLock { $0.encoder.follow(enriched) }
    }

    /// The first connection: returns once connected. Throws why not: what will not mend by
    /// waiting (a refused password, no such database, another program's database, a newer
    /// schema, TLS) and ``FleetError/unreachable(server:reason:)``, after which ``run()``
    /// may still be started — it spools and keeps trying.
    public func start() async throws(FleetError) {
        let opened = try await open()
        connection.withLock { $0 = opened }
        queue.withLock { $0.status.connected = true }
    }

    /// What the sink has done and holds.
    public var status: FleetSinkStatus {
        queue.withLock { queue in
            var status = queue.status
            status.spooledBatches = queue.spool.count
            status.spooledMemoryBytes = queue.spool.memoryBytes
            status.spooledFileBytes = queue.spool.fileBytes
            status.waitingEvents = queue.spool.events
            if queue.spool.count > 0 || queue.spool.hasFiles {
                status.lagSeconds = max(0, Double(StoreClock.unixNanoseconds() - (queue.newestWritten ?? queue.began)) / 1e9)
            }
            return status
        }
    }

    /// Seals and writes batches until ``finish(reason:waitingUpTo:)`` has sealed the last
    /// one and it is written or its time is up, or until cancelled (what waits stays in
    /// the spool: in its files and journal, for the next start).
    public func run() async {
        var backoff = 1.0
        // Without a connection from ``start()``, the server was found away (and said so) already.
        var away = connection.withLock { $0 == nil }
        var nextTry = away ? Clocks.monotonicSeconds() + backoff : 0
        var failures = 0
        var nextRetention = 0.0
        var partitionsDay = FleetPartitions.day(unixNanoseconds: StoreClock.unixNanoseconds())
        while !Task.isCancelled {
            seal()
            var current = connection.withLock { $0 }
            if current == nil, Clocks.monotonicSeconds() >= nextTry {
                do {
                    current = try await open()
                    connection.withLock { $0 = current }
                    if away { logger.notice("\(connector.url.redacted) answers again: writing the \(status.spooledBatches) batches spooled") }
                    away = false
                    backoff = 1
                } catch {
                    if !away, !gate.isStopped { logger.warning("\(error); spooling until it answers (retrying every \(Int(Self.maximumBackoff)) s at most)") }
                    away = true
                    nextTry = Clocks.monotonicSeconds() + backoff
                    backoff = min(backoff * 2, Self.maximumBackoff)
                }
            }
            queue.withLock { $0.status.connected = current != nil }
            if let current {
                let (connection, hostID) = current
                let writer = BatchWriter(host: hostID, method: method, logger: logger)
                // False once an operation lost the connection: nothing more on it.
                var usable = true
                if let keep, Clocks.monotonicSeconds() >= nextRetention {
                    nextRetention = Clocks.monotonicSeconds() + FleetRetention.interval
                    do {
                        let dropped = try await gate.run(on: connection, within: Self.retentionSeconds) { [logger] in
                            try await FleetRetention.run(connection, keep: keep, now: StoreClock.unixNanoseconds(), logger: logger)
                        }
                        if !dropped.isEmpty { logger.notice("retention dropped \(dropped.joined(separator: ", ")) from \(server)") }
                    } catch {
                        logger.warning("retention in \(server) failed: \(connector.translate(error))")
                        usable = !lost(connection, error)
                    }
                }
                let today = FleetPartitions.day(unixNanoseconds: StoreClock.unixNanoseconds())
                if usable, today != partitionsDay {
                    // A new day: its partitions ahead (a failure is logged there; events then go to the default).
                    do {
                        try await gate.run(on: connection, within: Self.operationSeconds) { [logger] in
                            try await FleetPartitions.ensure(connection, today: today, logger: logger)
                        }
                        partitionsDay = today
                    } catch {
                        usable = !lost(connection, error)
                        if usable { partitionsDay = today }
                    }
                }
                if !usable { nextTry = Clocks.monotonicSeconds() + backoff }
                while usable, let batch = queue.withLock({ $0.spool.first() }) {
                    do {
                        let wrote = try await gate.run(on: connection, within: Self.operationSeconds) {
                            try await writer.write(batch, on: connection)
                        }
                        failures = 0
                        queue.withLock { queue in
                            queue.spool.removeFirst()
                            if wrote { queue.status.writtenEvents += batch.eventCount - (batch.carriedLoss > 0 ? 1 : 0) }
                            if let newest = batch.newestEvent { queue.newestWritten = max(queue.newestWritten ?? .min, newest) }
                        }
                    } catch {
                        let failure = connector.translate(error)
                        // A statement the server refused on a connection that stays open: the batch itself, maybe.
                        let refused = !lost(connection, error)
                        if refused {
                            failures += 1
                            drop(connection)
                        }
                        if case .server = failure, refused, failures >= 3 {
                            // The server refuses this batch itself (not the connection): skip it, counted.
                            logger.error("a batch was refused 3 times and is dropped (\(batch.recordedEvents) events): \(failure)")
                            queue.withLock { queue in
                                queue.spool.removeFirst()
                                queue.unreported += batch.recordedEvents
                                queue.status.droppedEvents += batch.recordedEvents
                            }
                            failures = 0
                        } else if !away {
                            logger.warning("\(failure); spooling until it answers again")
                            away = true
                        }
                        nextTry = Clocks.monotonicSeconds() + backoff
                        break
                    }
                }
            }
            let (finishing, empty, stopped) = queue.withLock { ($0.finishing, $0.spool.count == 0 && !$0.spool.hasFiles, $0.stopped) }
            if finishing && empty && recording.withLock({ $0.end == nil && $0.encoder.pendingEvents == 0 }) {
                queue.withLock { $0.drained = true }
                break
            }
            if stopped { break }
            try? await Task.sleep(for: .milliseconds(Int(Self.sealInterval * 1000)))
        }
        if let last = connection.withLock({ state in defer { state = nil }; return state }) {
            await OperationGate.close(last.0, within: Self.closeSeconds)
        }
    }

    /// Seals the last batch with the recording's end (`reason` as the SQLite recording's
    /// `end_reason`) and lets ``run()`` write what waits for up to `seconds`, then stop it.
    /// Returns the events that were not written (still spooled — in files, for the next
    /// start — or dropped). An operation still in flight then is abandoned (its batch stays
    /// spooled), so ``run()`` returns promptly after.
    public func finish(reason: String, waitingUpTo seconds: Double) async -> Int {
        recording.withLock { $0.end = FleetRecordingEnd(ended: StoreClock.unixNanoseconds(),
                                                         endedMonotonic: StoreClock.monotonicNanoseconds(), reason: reason) }
        queue.withLock { $0.finishing = true }
        let deadline = Clocks.monotonicSeconds() + seconds
        // Not "the spool is empty": between sealing the last batch and spooling it, it is in neither.
        while Clocks.monotonicSeconds() < deadline, !queue.withLock({ $0.drained }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        queue.withLock { $0.stopped = true }
        gate.stop()
        let status = self.status
        return status.waitingEvents + status.droppedEvents
    }

    /// Seals what was recorded since the last batch and queues it (dropping it, counted,
    /// when the spool is full).
    private func seal() {
        let loss = queue.withLock { queue in defer { queue.unreported = 0 }; return queue.unreported }
        let pending = recording.withLock { recording -> PendingBatch? in
            defer { if recording.end != nil { recording.end = nil } }
            return recording.encoder.take(loss: loss, end: recording.end)
        }
        guard let pending else {
            queue.withLock { $0.unreported += loss }
            return
        }
        let batch = pending.encode()
        queue.withLock { queue in
            if !queue.spool.append(batch) {
                // Reported by the next batch's `lost` row: its own events and what it reported.
                queue.unreported += batch.recordedEvents + batch.carriedLoss
                queue.status.droppedEvents += batch.recordedEvents
            }
        }
    }

    /// Whether `error` of an operation on `connection` lost the connection; if so, it is
    /// closed and forgotten (``run()`` connects again after its backoff).
    private func lost(_ connection: PostgresConnection, _ error: any Error) -> Bool {
        guard error is OperationGate.Interruption || connection.isClosed else { return false }
        drop(connection)
        return true
    }

    /// Closes `connection` without waiting (a stuck one may never confirm) and forgets it.
    private func drop(_ connection: PostgresConnection) {
        connection.close().whenComplete { _ in }
        self.connection.withLock { current in if current?.0 === connection { current = nil } }
    }

    /// A new connection with the schema ready, this host registered and the partitions made,
    /// within the URL's `connect_timeout` and ``operationSeconds``.
    private func open() async throws(FleetError) -> (PostgresConnection, hostID: Int) {
        let (connector, host, logger) = (connector, host, logger)
        do {
            let opened = try await gate.run(on: nil, within: Double(connector.url.connectTimeout) + Self.operationSeconds,
                                            orphan: { $0.0.close().whenComplete { _ in } }) {
                try await Self.open(connector, host, logger)
            }
            gate.watch(opened.0)
            return opened
        } catch {
            throw connector.translate(error)
        }
    }

    private static func open(_ connector: FleetConnector, _ host: LocalMachine, _ logger: Logger) async throws(FleetError)
        -> (PostgresConnection, hostID: Int) {
        let connection = try await connector.connect()
        do {
            let server = connector.url.redacted
            _ = try await FleetSchema.prepare(connection, server: server, procwatchVersion: host.procwatchVersion, logger: logger)
            let hostID = try await host.register(connection, logger: logger)
            try await FleetPartitions.ensure(connection, today: FleetPartitions.day(unixNanoseconds: StoreClock.unixNanoseconds()),
                                             logger: logger)
            return (connection, hostID)
        } catch {
            try? await connection.close()
            throw connector.translate(error)
        }
    }
}
