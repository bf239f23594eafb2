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
/// log line when the server goes away and one when it is back. Past the spool's bounds a
/// batch is dropped and its events counted: the next batch begins with a `lost` event
/// (reason `spool`) of that exact count, so nothing is lost silently.
public final class FleetSink: RecordingDestination, Sendable {
    /// Seconds between batches.
    public static let sealInterval = 0.1
    /// The longest wait between two connection attempts.
    static let maximumBackoff = 10.0

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
    }

    private let connector: FleetConnector
    private let host: LocalMachine
    private let logger: Logger
    private let recording: Mutex<Recording>
    private let queue: Mutex<Queue>
    private let connection = Mutex<(PostgresConnection, hostID: Int)?>(nil)
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
    /// the spool: in its files, for the next start).
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
                    if !away { logger.warning("\(error); spooling until it answers (retrying every \(Int(Self.maximumBackoff)) s at most)") }
                    away = true
                    nextTry = Clocks.monotonicSeconds() + backoff
                    backoff = min(backoff * 2, Self.maximumBackoff)
                }
            }
            queue.withLock { $0.status.connected = current != nil }
            if let current {
                let (connection, hostID) = current
                let writer = BatchWriter(host: hostID, method: method, logger: logger)
                if let keep, Clocks.monotonicSeconds() >= nextRetention {
                    nextRetention = Clocks.monotonicSeconds() + FleetRetention.interval
                    do {
                        let dropped = try await FleetRetention.run(connection, keep: keep, now: StoreClock.unixNanoseconds(), logger: logger)
                        if !dropped.isEmpty { logger.notice("retention dropped \(dropped.joined(separator: ", ")) from \(server)") }
                    } catch {
                        logger.warning("retention in \(server) failed: \(connector.translate(error))")
                    }
                }
                let today = FleetPartitions.day(unixNanoseconds: StoreClock.unixNanoseconds())
                if today != partitionsDay {
                    // A new day: its partitions ahead (a failure is logged there; events then go to the default).
                    try? await FleetPartitions.ensure(connection, today: today, logger: logger)
                    partitionsDay = today
                }
                while let batch = queue.withLock({ $0.spool.first() }) {
                    do {
                        let wrote = try await writer.write(batch, on: connection)
                        failures = 0
                        queue.withLock { queue in
                            queue.spool.removeFirst()
                            if wrote { queue.status.writtenEvents += batch.eventCount - (batch.carriedLoss > 0 ? 1 : 0) }
                            if let newest = batch.newestEvent { queue.newestWritten = max(queue.newestWritten ?? .min, newest) }
                        }
                    } catch {
                        let failure = connector.translate(error)
                        try? await connection.close()
                        self.connection.withLock { $0 = nil }
                        failures += 1
                        if case .server = failure, failures >= 3 {
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
            if stopped || (finishing && empty && recording.withLock({ $0.end == nil && $0.encoder.pendingEvents == 0 })) { break }
            try? await Task.sleep(for: .milliseconds(Int(Self.sealInterval * 1000)))
        }
        if let last = connection.withLock({ state in defer { state = nil }; return state }) {
            try? await last.0.close()
        }
        queue.withLock { $0.spool.spillMemory() }
    }

    /// Seals the last batch with the recording's end (`reason` as the SQLite recording's
    /// `end_reason`) and lets ``run()`` write what waits for up to `seconds`, then stop it.
    /// Returns the events that were not written (still spooled — in files, for the next
    /// start — or dropped).
    public func finish(reason: String, waitingUpTo seconds: Double) async -> Int {
        recording.withLock { $0.end = FleetRecordingEnd(ended: StoreClock.unixNanoseconds(),
                                                         endedMonotonic: StoreClock.monotonicNanoseconds(), reason: reason) }
        queue.withLock { $0.finishing = true }
        let deadline = Clocks.monotonicSeconds() + seconds
        while Clocks.monotonicSeconds() < deadline {
            let done = queue.withLock { $0.spool.count == 0 && !$0.spool.hasFiles }
                && recording.withLock { $0.end == nil && $0.encoder.pendingEvents == 0 }
            if done { break }
            try? await Task.sleep(for: .milliseconds(20))
        }
        queue.withLock { $0.stopped = true }
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

    /// A new connection with the schema ready, this host registered and the partitions made.
    private func open() async throws(FleetError) -> (PostgresConnection, hostID: Int) {
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
