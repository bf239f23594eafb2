import GRDB
import ProcWatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Writes a recording: every event, one row per process, and the job of a recorded command,
/// into an SQLite file (WAL mode) in batched transactions.
///
/// ``record(_:process:)`` and ``account(_:)`` only append to memory (the reader thread calls
/// them per event); ``flush()`` commits everything pending in one transaction. Call it at the
/// end of every kernel batch and on a timer: what a `kill -9` can lose is what was
/// received since the last commit. After a write fails (disk full), the recorder keeps
/// nothing more and every later ``flush()`` throws the same error; what was committed stays.
public final class Recorder: Sendable {
    private struct Pending {
        var events: [EventRow] = []
        var ledger: ProcessLedger
        var failure: StoreError?
        var committedEvents = 0
        /// CLOCK_MONOTONIC nanoseconds of the last commit.
        var lastCommit: Int64 = 0
    }

    private let path: String
    private let queue: DatabaseQueue
    /// This recording's `meta` row id.
    public let recording: Int64
    /// The recordings the file held before this one (their `meta` ids; empty for a new file).
    public let earlierRecordings: [Int64]
    /// The newest of ``earlierRecordings`` as it was when this one started.
    public let previousRecording: PreviousRecording?
    /// The descriptor holding this recording's ``RecordingLock`` until ``finish(reason:job:)``.
    private let lock: Atomic<Int32>
    private let pending: Mutex<Pending>
    /// Serializes commits, so rows go to the file in the order they were recorded.
    private let writing = Mutex(())

    /// Opens (or creates) `path` and starts a recording in it.
    ///
    /// Throws one-line errors for a file that is not SQLite, another program's database, a
    /// schema version other than ``StoreSchema/version``, and a path that cannot be written.
    public init(path: String, session: RecordingSession) throws(StoreError) {
        self.path = path
        queue = try StoreFile.openForRecording(path)
        let started = StoreClock.unixNanoseconds()
        let monotonic = StoreClock.monotonicNanoseconds()
        let firstProcess: Int64
        var previous: PreviousRecording?
        do {
            (recording, firstProcess, earlierRecordings) = try queue.write { db in
                let earlier = try Int64.fetchAll(db, sql: "SELECT id FROM meta ORDER BY id")
                if let last = earlier.last,
                   let row = try Row.fetchOne(db, sql: "SELECT ended, started FROM meta WHERE id = ?", arguments: [last]) {
                    let newest = try String.fetchOne(db, sql: "SELECT max(time) FROM events WHERE recording = ?", arguments: [last])
                    previous = PreviousRecording(id: last, ended: row["ended"], started: row["started"], lastEvent: newest,
                                                 recorderAlive: RecordingLock.isHeld(path: path, recording: last))
                }
                try db.execute(sql: """
                    INSERT INTO meta (schema_version, program, host, kernel, arguments, command, filters, started,
                                      started_ktime_ns, clock_offset_ns, taskstats)
                    VALUES (?, 'procwatch', ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [StoreSchema.version, session.host, session.kernel, JSONText.strings(session.arguments),
                                     session.command.map(JSONText.strings), session.filters,
                                     StoreClock.rfc3339(unixNanoseconds: started), monotonic, started - monotonic, session.taskstats])
                let id = db.lastInsertedRowID
                let nextProcess = (try Int64.fetchOne(db, sql: "SELECT max(id) FROM processes") ?? 0) + 1
                return (id, nextProcess, earlier)
            }
        } catch {
            throw StoreFile.translate(error, path: path)
        }
        previousRecording = previous
        lock = Atomic(RecordingLock.take(path: path, recording: recording) ?? -1)
        pending = Mutex(Pending(ledger: ProcessLedger(firstID: firstProcess)))
    }

    /// Adds an event (with what the process table knew of its subject after it, and its
    /// exit record) to the next commit: always to its subject's `processes` row, and as an
    /// `events` row when `stored`.
    ///
    /// Pass every event of the selected processes, `stored` only for those `-e` asked for:
    /// the rows need forks, execs and exits to start, name and end a process.
    public func record(_ enriched: EnrichedEvent, stored: Bool = true) {
        pending.withLock { pending in
            guard pending.failure == nil else { return }
            let id = pending.ledger.apply(enriched)
            if stored { pending.events.append(EventRow(event: enriched.event, process: enriched.process, processID: id)) }
        }
    }

    /// Applies an event the filters did not select to its subject's `processes` row, if the
    /// process has one (an earlier event of it was selected): its exit still ends the row.
    /// Stores no `events` row and starts no `processes` row.
    public func follow(_ enriched: EnrichedEvent) {
        pending.withLock { pending in
            guard pending.failure == nil else { return }
            pending.ledger.follow(enriched)
        }
    }

    /// Events committed so far.
    public var committedEvents: Int { pending.withLock { $0.committedEvents } }

    /// The write error that stopped the recording, if any.
    public var failure: StoreError? { pending.withLock { $0.failure } }

    /// Commits what is pending if the last commit is at least `interval` seconds old, or
    /// `maxPending` events wait: called at the end of every kernel batch, so a storm's
    /// many small batches share a transaction while a quiet stream is still written at once.
    /// Returns whether it committed (or had nothing to commit) now.
    @discardableResult
    public func flush(ifOlderThan interval: Double, maxPending: Int = 4096) throws(StoreError) -> Bool {
        let due = pending.withLock { pending in
            pending.events.count >= maxPending
                || StoreClock.monotonicNanoseconds() - pending.lastCommit >= Int64(interval * 1e9)
        }
        if due { try flush() }
        return due
    }

    /// Commits what is pending in one transaction (processes first, then events).
    public func flush() throws(StoreError) {
        try writing.withLock { _ throws(StoreError) in
            let (events, processes, failure) = pending.withLock { pending in
                let taken = (pending.events, pending.ledger.takeChanges(), pending.failure)
                pending.events.removeAll(keepingCapacity: true)
                return taken
            }
            if let failure { throw failure }
            guard !events.isEmpty || !processes.isEmpty else { return }
            defer { pending.withLock { $0.lastCommit = StoreClock.monotonicNanoseconds() } }
            do {
                try queue.write { db in
                    let upsert = try BulkInsert(db, sql: ProcessRow.upsertSQL)
                    for row in processes { try row.upsert(with: upsert, recording: recording) }
                    let insert = try BulkInsert(db, sql: EventRow.insertSQL)
                    for row in events { try row.insert(with: insert, recording: recording) }
                }
                pending.withLock { $0.committedEvents += events.count }
            } catch {
                let failure = StoreFile.translate(error, path: path)
                pending.withLock { pending in
                    pending.failure = failure
                    pending.events.removeAll()
                }
                throw failure
            }
        }
    }

    /// Runs one retention step on the recording's own connection, between two commits: it
    /// takes the lock ``flush()`` takes, so a commit waits for the step (a few milliseconds
    /// at most, see ``HistoryPruner/rowsPerStep``) instead of failing with SQLITE_BUSY as a
    /// second writer connection would make it. While ``PruneResult/more``, call it again
    /// soon; each call lets the pending commits in first. `now` is Unix nanoseconds (nil: the
    /// real-time clock's).
    public func prune(_ pruner: HistoryPruner, now: Int64? = nil) throws(StoreError) -> PruneResult {
        try writing.withLock { _ throws(StoreError) in
            do {
                return try queue.writeWithoutTransaction { db in try pruner.pruneStep(db, now: now ?? StoreClock.unixNanoseconds()) }
            } catch {
                throw StoreFile.translate(error, path: path)
            }
        }
    }

    /// Commits what is pending, the job (if any) and the end of the recording
    /// (`ended`, `end_reason`: `signal`, `duration`, `command`, or `error`), then checkpoints.
    public func finish(reason: String, job: RecordedJob? = nil) throws(StoreError) {
        var firstError: StoreError?
        do { try flush() } catch { firstError = error }
        let ended = StoreClock.unixNanoseconds()
        let monotonic = StoreClock.monotonicNanoseconds()
        do {
            try queue.write { db in
                if let job { try JobRow(job).insert(db, recording: recording) }
                try db.execute(sql: "UPDATE meta SET ended = ?, ended_ktime_ns = ?, end_reason = ? WHERE id = ?",
                               arguments: [StoreClock.rfc3339(unixNanoseconds: ended), monotonic,
                                           firstError == nil ? reason : "error", recording])
            }
            try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        } catch {
            firstError = firstError ?? StoreFile.translate(error, path: path)
        }
        try? queue.close()
        releaseLock()
        if let firstError { throw firstError }
    }

    deinit { releaseLock() }

    private func releaseLock() {
        let descriptor = lock.exchange(-1, ordering: .acquiringAndReleasing)
        if descriptor >= 0 { close(descriptor) }
    }
}
