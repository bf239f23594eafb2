import GRDB
import Glibc
@testable import ProcWatch
@testable import ProcWatchStore
import Testing

/// Retention: what a pruning step deletes by age and by size, and what it never deletes
/// (no kernel).
@Suite("History retention (no kernel)")
struct RetentionTests {
    /// 02:30 on the workload's day, in Unix nanoseconds.
    static func time(_ hours: Int64, _ minutes: Int64, _ seconds: Int64 = 0) -> Int64 {
        HistoryWorkload.midnight + ((hours * 60 + minutes) * 60 + seconds) * 1_000_000_000
    }

    func ids(_ path: String, _ table: String) throws -> [Int64] {
        try StoreWorkload.rows(path, "SELECT id FROM \(table) ORDER BY id").map { Int64($0)! }
    }

    func step(_ path: String, _ pruner: HistoryPruner, now: Int64) throws -> PruneResult {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.writeWithoutTransaction { db in try pruner.pruneStep(db, now: now) }
    }

    @Test func byAgeEventsAndEndedProcessesGoAndARunningOneStays() throws {
        let path = StoreWorkload.temporaryPath("age.db")
        defer { StoreWorkload.remove(path) }
        try HistoryWorkload.record(into: path)
        #expect(try ids(path, "events") == Array(1...17))
        #expect(try ids(path, "processes") == [1, 2, 3, 4, 5, 6])

        // Keep one hour at 02:30: the cutoff is 01:30; 2001, 2002 and 2003 ended before it.
        let hour = HistoryPruner(policy: RetentionPolicy(keep: .seconds(3600), maxBytes: nil))
        let first = try step(path, hour, now: Self.time(2, 30))
        #expect([first.events, first.processes, first.jobs] == [9, 3, 0])
        #expect(!first.more)
        #expect(try ids(path, "events") == Array(10...17))
        #expect(try ids(path, "processes") == [4, 5, 6])
        #expect(try step(path, hour, now: Self.time(2, 30)).rows == 0)

        // Keep one minute at 02:03: the cutoff is 02:02:00.000, 2006's fork: it and its exec
        // stay, and 2006 itself (no end, in the newest recording) however old.
        let minute = HistoryPruner(policy: RetentionPolicy(keep: .seconds(60), maxBytes: nil))
        let second = try step(path, minute, now: Self.time(2, 3))
        #expect([second.events, second.processes] == [6, 2])
        #expect(try ids(path, "events") == [16, 17])
        #expect(try ids(path, "processes") == [6])
        let late = try step(path, minute, now: Self.time(23, 0))
        #expect([late.events, late.processes] == [2, 0])
        #expect(try ids(path, "processes") == [6])
        // `report` reads what is left: the one process, no event.
        let report = try ReportReader.load(path: path)
        #expect(report.processes.map(\.pid) == [2006])
        #expect(report.eventCounts == [:])
    }

    @Test func aStepDeletesAtMostItsCap() throws {
        let path = StoreWorkload.temporaryPath("cap.db")
        defer { StoreWorkload.remove(path) }
        try HistoryWorkload.record(into: path)
        let pruner = HistoryPruner(policy: RetentionPolicy(keep: .seconds(3600), maxBytes: nil), rowsPerStep: 4)
        var steps: [[Int]] = []
        for _ in 0..<4 {
            let result = try step(path, pruner, now: Self.time(2, 30))
            steps.append([result.events, result.processes, result.more ? 1 : 0])
        }
        // Events 1-4, 5-8, then 9 and the three processes (whose events are all gone by then), then nothing.
        #expect(steps == [[4, 0, 1], [4, 0, 1], [1, 3, 1], [0, 0, 0]])
        #expect(try ids(path, "events") == Array(10...17))
        #expect(try ids(path, "processes") == [4, 5, 6])
    }

    @Test func aParentStaysWhileItsChildRunsAndTheRecorderGoesOnAfterAStep() throws {
        let path = StoreWorkload.temporaryPath("parent.db")
        defer { StoreWorkload.remove(path) }
        var feeder = try HistoryWorkload.Feeder(path)
        let shell = HistoryWorkload.Feeder.record(3001, ["sh", "-c", "daemon &"], uid: 0, start: 0)
        feeder.send(.fork(parent: TaskID(pid: 100, tid: 100), child: TaskID(pid: 3001, tid: 3001)), 0, shell)
        var child = HistoryWorkload.Feeder.record(3002, ["daemon"], uid: 0, start: 10)
        child.parentPID = 3001
        feeder.send(.fork(parent: TaskID(pid: 3001, tid: 3001), child: TaskID(pid: 3002, tid: 3002)), 10, child)
        feeder.send(.exit(TaskID(pid: 3001, tid: 3001), waitStatus: 0, exitSignal: 17, parent: TaskID(pid: 100, tid: 100)), 20, shell)
        try feeder.recorder.flush()
        try HistoryWorkload.pinClock(path)
        #expect(try StoreWorkload.rows(path, "SELECT id, pid, parent FROM processes ORDER BY id") == ["1|3001|-", "2|3002|1"])

        // An hour later, keeping a minute: the events go, the shell stays (its child runs).
        let pruner = HistoryPruner(policy: RetentionPolicy(keep: .seconds(60), maxBytes: nil))
        let first = try feeder.recorder.prune(pruner, now: RetentionTests.time(1, 0))
        #expect([first.events, first.processes] == [3, 0])
        #expect(try ids(path, "processes") == [1, 2])

        // The child exits; the recorder rewrites its row (parent included) and commits.
        feeder.send(.exit(TaskID(pid: 3002, tid: 3002), waitStatus: 0, exitSignal: 17, parent: TaskID(pid: 1, tid: 1)), 30, child)
        try feeder.recorder.flush()
        let second = try feeder.recorder.prune(pruner, now: RetentionTests.time(1, 0))
        #expect([second.events, second.processes] == [1, 2])
        #expect(try ids(path, "processes") == [])
        // Recording goes on after pruning: a new process is written and committed.
        feeder.send(.fork(parent: TaskID(pid: 100, tid: 100), child: TaskID(pid: 3003, tid: 3003)), 40,
                    HistoryWorkload.Feeder.record(3003, ["true"], uid: 0, start: 40))
        try feeder.recorder.finish(reason: "signal")
        #expect(try StoreWorkload.rows(path, "SELECT id, pid FROM processes") == ["3|3003"])
        #expect(try StoreWorkload.rows(path, "SELECT id, event, pid FROM events") == ["1|fork|3003"])  // the table was empty: rowids start again
    }

    @Test func bySizeTheOldestGoUntilTheFileIsUnderItsBoundAndThePagesGoBack() throws {
        let path = StoreWorkload.temporaryPath("size.db")
        defer { StoreWorkload.remove(path) }
        var feeder = try HistoryWorkload.Feeder(path)
        for index in 0..<3000 {
            let start = UInt64(index) * 1000
            feeder.process(Int32(10_000 + index), ["/usr/bin/cc", "-c", "file\(index).c", "-o", "file\(index).o"], uid: 0,
                           start: start, end: start + 500, exe: "/usr/bin/cc")
        }
        try feeder.recorder.finish(reason: "signal")
        try HistoryWorkload.pinClock(path)
        #expect(try StoreWorkload.rows(path, "PRAGMA auto_vacuum") == ["2"])  // INCREMENTAL
        let before = try StoreWorkload.rows(path, "SELECT count(*) FROM events")
        #expect(before == ["9000"])
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        let used = try queue.read { try HistoryPruner.usedBytes($0) }
        let pages = try queue.read { try Int.fetchOne($0, sql: "PRAGMA page_count")! }
        let bound = used / 2
        let pruner = HistoryPruner(policy: RetentionPolicy(keep: nil, maxBytes: bound), rowsPerStep: 400, sizeChunk: 200)
        var results: [PruneResult] = []
        repeat {
            results.append(try queue.writeWithoutTransaction { try pruner.pruneStep($0, now: RetentionTests.time(23, 0)) })
        } while results.last!.more && results.count < 1000
        let working = results.filter { $0.rows > 0 }
        // Under the bound after the last step that deleted, over it after every one before:
        // nothing went that the bound did not require (a step's last chunk at most).
        #expect(working.last!.usedBytes <= bound)
        #expect(working.dropLast().allSatisfy { $0.usedBytes > bound })
        #expect(working.allSatisfy { $0.rows <= 400 })
        // The newest events stay, without a gap; every process that ended before the oldest
        // of them went, and none that ended after it.
        let kept = try queue.read { try Row.fetchOne($0, sql: "SELECT min(id) AS low, max(id) AS high, count(*) AS n FROM events")! }
        #expect((kept["high"] as Int64) == 9000)
        #expect((kept["n"] as Int64) == 9000 - (kept["low"] as Int64) + 1)
        #expect(results.reduce(0) { $0 + $1.events } == (kept["low"] as Int64) - 1)
        let oldest: Int64 = try queue.read { try Int64.fetchOne($0, sql: "SELECT ktime_ns FROM events ORDER BY id LIMIT 1")! }
        #expect(try queue.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM processes WHERE end_ktime_ns < ?", arguments: [oldest])! } == 0)
        let goneProcesses = results.reduce(0) { $0 + $1.processes }
        #expect(try queue.read { try Int.fetchOne($0, sql: "SELECT min(id) FROM processes")! } == goneProcesses + 1)
        // The freed pages went back to the file system (incremental auto-vacuum).
        let after = try queue.read { try Int.fetchOne($0, sql: "PRAGMA page_count")! }
        #expect(results.reduce(0) { $0 + $1.pagesReleased } == pages - after)
        #expect(after < pages * 3 / 4)
    }

    @Test func newFilesGetTheHistoryIndexesAndOlderFilesGetThemWhenRecordedInto() throws {
        let path = StoreWorkload.temporaryPath("indexes.db")
        defer { StoreWorkload.remove(path) }
        let indexes = "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        try StoreWorkload.recorder(path, taskstats: false).finish(reason: "signal")
        let all = ["events_exec_failed", "events_ktime", "events_pid", "processes_parent", "processes_pid", "processes_start"]
        #expect(try StoreWorkload.rows(path, indexes) == all)
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: "DROP INDEX processes_start; DROP INDEX events_exec_failed")
        }
        try queue.close()
        #expect(try StoreWorkload.rows(path, indexes) == ["events_ktime", "events_pid", "processes_parent", "processes_pid"])
        try StoreWorkload.recorder(path, taskstats: false).finish(reason: "signal")
        #expect(try StoreWorkload.rows(path, indexes) == all)
    }
}
