import GRDB

/// Deletes what a ``RetentionPolicy`` no longer keeps, in small steps the daemon runs every
/// few seconds between the recorder's commits (``Recorder/prune(_:now:)``).
///
/// **Oldest** means lowest row id: the recorder writes events and starts process rows in
/// the order it receives them and a file's recordings one after the other, so id order is
/// time order (within one recording exactly; across recordings as long as they did not
/// write at once, which one daemon never does).
///
/// - By age: events whose time is before `now − keep`, from the oldest up to the first
///   younger one; then processes that ended before that cutoff, or before the oldest event
///   still kept if that is earlier (so a process never goes before its own events). A
///   process without an end is kept while its recording is the newest one (it may run);
///   one of an older recording (stopped, or cut short by kill -9) counts as ended when that
///   recording ended (or the next one started).
/// - By size: while `(page_count − freelist_count) × page_size` is over `maxBytes`, the
///   oldest ``sizeChunk`` events go, then the processes that ended before the oldest event
///   still kept; with no event left, ended processes, oldest first. It stops as soon as the
///   file is under its bound: at most one chunk more than needed goes.
/// - Jobs (`record -- COMMAND`) go with their root process; a child whose parent row goes
///   keeps its row with `parent` NULL; a process with a child still running in the newest
///   recording is kept (the recorder rewrites the child's row, parent id included).
///
/// One step is one write transaction deleting at most ``rowsPerStep`` events and processes
/// (plus their jobs), then `PRAGMA incremental_vacuum` giving back at most ``vacuumPages``
/// free pages (a file created with `auto_vacuum = INCREMENTAL`, as every store file is
/// since retention exists; in an older file freed pages are reused by later rows instead).
public struct HistoryPruner: Sendable {
    /// What is kept.
    public var policy: RetentionPolicy
    /// Events plus processes one step deletes at most: bounds how long it holds the write
    /// lock, which the recorder, committing every 10 ms, then waits for. Measured on the 2-core
    /// VM (synchronous NORMAL, as the recorder): 500 rows about 4 ms a step, 2,000 rows about
    /// 13 ms; a WAL checkpoint now and then adds up to ~30 ms, as it does to any commit.
    public var rowsPerStep: Int
    /// Events deleted between two looks at the file's size, when over its bound.
    public var sizeChunk: Int
    /// Free pages one step gives back to the file system at most.
    public var vacuumPages: Int

    /// A pruner for `policy` (`rowsPerStep` at least 1).
    public init(policy: RetentionPolicy, rowsPerStep: Int = 500, sizeChunk: Int = 100, vacuumPages: Int = 256) {
        self.policy = policy
        self.rowsPerStep = max(1, rowsPerStep)
        self.sizeChunk = max(1, sizeChunk)
        self.vacuumPages = max(1, vacuumPages)
    }

    /// Runs one step on `db`, which must not be in a transaction (the step runs its own, with
    /// foreign key checks off: SQLite would otherwise scan `events` for every process row
    /// deleted, `events.process` having no index). `now` is Unix nanoseconds.
    public func pruneStep(_ db: Database, now: Int64) throws -> PruneResult {
        guard !db.isInsideTransaction else {
            throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "HistoryPruner.pruneStep runs its own transaction: call it outside one")
        }
        let foreignKeys = try Bool.fetchOne(db, sql: "PRAGMA foreign_keys") ?? false
        if foreignKeys { try db.execute(sql: "PRAGMA foreign_keys = OFF") }
        defer { if foreignKeys { try? db.execute(sql: "PRAGMA foreign_keys = ON") } }
        var result = PruneResult()
        try db.inTransaction(.immediate) {
            var step = Step(db: db, clocks: try Clocks(db), budget: rowsPerStep)
            if let keep = policy.keep {
                let components = keep.components
                let cutoff = now - components.seconds * 1_000_000_000 - components.attoseconds / 1_000_000_000
                try step.deleteEvents(limit: step.budget) { $0 < cutoff }
                try step.deleteProcesses(endedBefore: min(cutoff, try step.oldestEventTime() ?? .max), limit: step.budget)
            }
            if let maxBytes = policy.maxBytes {
                while step.budget > 0, try Self.usedBytes(db) > maxBytes {
                    let deleted = step.result.rows
                    let chunk = min(sizeChunk, step.budget)
                    try step.deleteEvents(limit: chunk) { _ in true }
                    try step.deleteProcesses(endedBefore: try step.oldestEventTime() ?? .max, limit: min(chunk, step.budget))
                    if step.result.rows == deleted { break }  // only running processes are left
                }
            }
            result = step.result
            result.more = step.budget == 0
            return .commit
        }
        let free = try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
        if free > 0 {
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            try db.execute(sql: "PRAGMA incremental_vacuum(\(min(free, vacuumPages)))")
            result.pagesReleased = pages - (try Int.fetchOne(db, sql: "PRAGMA page_count") ?? pages)
        }
        result.usedBytes = try Self.usedBytes(db)
        if let maxBytes = policy.maxBytes, result.usedBytes > maxBytes, result.rows > 0 { result.more = true }
        return result
    }

    /// `(page_count − freelist_count) × page_size`: the bytes the file's rows, indexes and
    /// schema take, whatever free pages it still holds.
    public static func usedBytes(_ db: Database) throws -> Int64 {
        let row = try Row.fetchOne(db, sql: """
            SELECT (SELECT page_count FROM pragma_page_count()) - (SELECT freelist_count FROM pragma_freelist_count()) AS pages,
                   (SELECT page_size FROM pragma_page_size()) AS size
            """)
        return (row?["pages"] as Int64? ?? 0) * (row?["size"] as Int64? ?? 0)
    }

    /// Each recording's clock offset (its `ktime_ns` plus this is Unix time) and, for an
    /// older recording, the instant its processes without an end count as ended.
    private struct Clocks {
        var offset: [Int64: Int64] = [:]
        var over: [Int64: Int64] = [:]
        /// The newest recording: the one a recorder may be writing.
        var newest: Int64?

        init(_ db: Database) throws {
            let rows = try Row.fetchAll(db, sql: "SELECT id, clock_offset_ns, started_ktime_ns, ended_ktime_ns FROM meta ORDER BY id")
            for (index, row) in rows.enumerated() {
                let id: Int64 = row["id"]
                let offset: Int64 = row["clock_offset_ns"]
                self.offset[id] = offset
                if let ended: Int64 = row["ended_ktime_ns"] {
                    over[id] = ended + offset
                } else if index + 1 < rows.count {
                    // Cut short: over by the time the next recording started.
                    over[id] = (rows[index + 1]["started_ktime_ns"] as Int64) + (rows[index + 1]["clock_offset_ns"] as Int64)
                }
            }
            // The newest recording is the one being written: its processes may all still run.
            newest = rows.last?["id"]
            if let newest { over[newest] = nil }
        }
    }

    /// One step's deletions and what is left of its row budget.
    private struct Step {
        let db: Database
        let clocks: Clocks
        var budget: Int
        var result = PruneResult()

        /// Deletes events from the oldest while `expired` says so of their Unix time, at most `limit`.
        mutating func deleteEvents(limit: Int, _ expired: (Int64) -> Bool) throws {
            guard limit > 0 else { return }
            var last: Int64?
            var count = 0
            let rows = try Row.fetchCursor(db, sql: "SELECT id, recording, ktime_ns FROM events ORDER BY id LIMIT ?", arguments: [limit])
            while let row = try rows.next() {
                guard expired((row["ktime_ns"] as Int64) + (clocks.offset[row["recording"]] ?? 0)) else { break }
                last = row["id"]
                count += 1
            }
            guard let last else { return }
            try db.execute(sql: "DELETE FROM events WHERE id <= ?", arguments: [last])
            result.events += count
            budget -= count
        }

        /// The Unix time of the oldest event kept, nil when none is.
        func oldestEventTime() throws -> Int64? {
            guard let row = try Row.fetchOne(db, sql: "SELECT recording, ktime_ns FROM events ORDER BY id LIMIT 1") else { return nil }
            return (row["ktime_ns"] as Int64) + (clocks.offset[row["recording"]] ?? 0)
        }

        /// Deletes processes that ended before `horizon` (Unix nanoseconds), oldest first, at
        /// most `limit`, with their jobs; children of deleted rows lose their `parent`.
        mutating func deleteProcesses(endedBefore horizon: Int64, limit: Int) throws {
            guard limit > 0 else { return }
            var chosen: [Int64] = []
            var cursor: Int64 = 0
            scan: while chosen.count < limit {
                let rows = try Row.fetchAll(db, sql: """
                    SELECT id, recording, first_seen_ktime_ns, end_ktime_ns FROM processes WHERE id > ? ORDER BY id LIMIT 512
                    """, arguments: [cursor])
                guard !rows.isEmpty else { break }
                for row in rows {
                    cursor = row["id"]
                    let recording: Int64 = row["recording"]
                    let offset = clocks.offset[recording] ?? 0
                    // Rows start in first-seen order: from one first seen after the horizon on, none ended before it.
                    if (row["first_seen_ktime_ns"] as Int64) + offset >= horizon { break scan }
                    let end = (row["end_ktime_ns"] as Int64?).map { $0 + offset } ?? clocks.over[recording]
                    guard let end, end < horizon else { continue }
                    chosen.append(cursor)
                    if chosen.count == limit { break scan }
                }
            }
            guard !chosen.isEmpty, let newest = clocks.newest else { return }
            // A parent whose child still runs in the recording being written stays: the
            // recorder rewrites the child's row, parent id included, at its next change.
            let busy = Set(try Int64.fetchAll(db, sql: """
                SELECT DISTINCT parent FROM processes WHERE parent IN (\(chosen.map { "\($0)" }.joined(separator: ",")))
                AND recording = ? AND end_ktime_ns IS NULL
                """, arguments: [newest]))
            chosen.removeAll { busy.contains($0) }
            guard !chosen.isEmpty else { return }
            let list = chosen.map { "\($0)" }.joined(separator: ",")
            try db.execute(sql: "UPDATE processes SET parent = NULL WHERE parent IN (\(list))")
            try db.execute(sql: "DELETE FROM jobs WHERE root IN (\(list))")
            result.jobs += db.changesCount
            try db.execute(sql: "DELETE FROM processes WHERE id IN (\(list))")
            result.processes += chosen.count
            budget -= chosen.count
        }
    }
}
