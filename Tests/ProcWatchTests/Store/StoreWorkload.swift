import GRDB
import Glibc
@testable import ProcWatch
import ProcWatchStore

/// A known process tree fed to the store without the kernel: a shell (pid 50001, forked
/// by a pre-existing 100) that starts `sleep` (which changes uid and is accounted by
/// taskstats), a thread, and `false` (exit 1), loses 5 events, and exits 3.
enum StoreWorkload {
    /// Each row of `sql` as `a|b|c`, NULL as `-`.
    static func rows(_ path: String, _ sql: String) throws -> [String] {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in
            try Row.fetchAll(db, sql: sql).map { row in
                row.databaseValues.map { value -> String in
                    switch value.storage {
                    case .null: "-"
                    case .int64(let number): "\(number)"
                    case .double(let number): "\(number)"
                    case .string(let text): text
                    case .blob(let bytes): "\(bytes)"
                    }
                }.joined(separator: "|")
            }
        }
    }

    static let shell = ["/bin/sh", "-c", "work"]

    /// Records the workload into `path`; the events lie between the recording's start and end.
    @discardableResult
    static func record(into path: String) throws -> TaskstatsRecord {
        let recorder = try ProcWatchStore.Recorder(
            path: path, session: RecordingSession(arguments: ["record", "-o", path], command: nil, filters: nil, taskstats: true))
        let (base, at) = clock()
        func task(_ pid: Int32, _ tid: Int32? = nil) -> TaskID { TaskID(pid: pid, tid: tid ?? pid) }
        func process(_ pid: Int32, _ parent: Int32, _ name: String, _ argv: [String], exe: String? = nil, uid: UInt32 = 0,
                     start: UInt64, end: UInt64? = nil) -> ProcessRecord {
            ProcessRecord(pid: pid, parentPID: parent, name: name, commandLine: argv, executable: exe, uid: uid,
                          startNanoseconds: base + start * 1_000_000, endNanoseconds: end.map { base + $0 * 1_000_000 })
        }
        var sequence: UInt32 = 0
        func send(_ detail: ProcessEvent.Detail, _ milliseconds: UInt64, _ record: ProcessRecord?, exitRecord: TaskstatsRecord? = nil) {
            sequence += 1
            recorder.record(EnrichedEvent(event: ProcessEvent(detail: detail, timestamp: at(milliseconds), cpu: 1, sequence: sequence),
                                          process: record, exitRecord: exitRecord))
        }
        let sh = process(50001, 100, "sh", shell, exe: "/usr/bin/dash", start: 1)
        send(.fork(parent: task(100), child: task(50001)), 1, process(50001, 100, "bash", ["bash"], exe: "/usr/bin/bash", start: 1))
        send(.exec(task(50001)), 2, sh)
        send(.fork(parent: task(50001), child: task(50002)), 3, process(50002, 50001, "sh", shell, exe: "/usr/bin/dash", start: 3))
        let sleep = process(50002, 50001, "sleep", ["sleep", "0.01"], exe: "/usr/bin/sleep", start: 3)
        send(.exec(task(50002)), 4, sleep)
        try recorder.flush()  // a batch boundary
        send(.fork(parent: task(100), child: task(50001, 50003)), 5, sh)
        send(.uid(task(50002), real: 65534, effective: 65534), 6, process(50002, 50001, "sleep", ["sleep", "0.01"], exe: "/usr/bin/sleep", uid: 65534, start: 3))
        let record = GoldenTaskstats.version16.withUnsafeBytes { TaskstatsRecord(id: 50002, isProcessTotal: false, bytes: $0) }
        send(.exit(task(50002), waitStatus: 0, exitSignal: 17, parent: task(50001)), 16,
             process(50002, 50001, "sleep", ["sleep", "0.01"], exe: "/usr/bin/sleep", uid: 65534, start: 3, end: 16), exitRecord: record)
        send(.fork(parent: task(50001), child: task(50004)), 17, process(50004, 50001, "sh", shell, exe: "/usr/bin/dash", start: 17))
        send(.exec(task(50004)), 18, process(50004, 50001, "false", ["false"], exe: "/usr/bin/false", start: 17))
        send(.exit(task(50004), waitStatus: 256, exitSignal: 17, parent: task(50001)), 19,
             process(50004, 50001, "false", ["false"], exe: "/usr/bin/false", start: 17, end: 19))
        recorder.record(EnrichedEvent(event: ProcessEvent(detail: .lost(count: 5, reason: .sequenceGap, cpu: 1), timestamp: at(20))))
        send(.exit(task(50001, 50003), waitStatus: 0, exitSignal: -1, parent: TaskID(pid: 0, tid: 0)), 21, sh)
        send(.exit(task(50001), waitStatus: 768, exitSignal: 17, parent: task(100)), 22,
             process(50001, 100, "sh", shell, exe: "/usr/bin/dash", start: 1, end: 22))
        usleep(30_000)  // the recording ends after the last event
        try recorder.finish(reason: "signal")
        return record
    }

    /// A recorder for `path`, as `procwatch record` (no command, no filters) starts one.
    static func recorder(_ path: String, taskstats: Bool) throws -> ProcWatchStore.Recorder {
        try ProcWatchStore.Recorder(
            path: path, session: RecordingSession(arguments: ["record"], command: nil, filters: nil, taskstats: taskstats))
    }

    /// Now on CLOCK_MONOTONIC, and event times that many milliseconds after now (inside a
    /// recording that starts now, so reports keep them in their window).
    static func clock() -> (base: UInt64, at: (UInt64) -> EventTimestamp) {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let base = UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
        clock_gettime(CLOCK_REALTIME, &now)
        let unixBase = Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
        return (base, { milliseconds in
            EventTimestamp(monotonicNanoseconds: base + milliseconds * 1_000_000, unixNanoseconds: unixBase + Int64(milliseconds) * 1_000_000)
        })
    }

    /// A fresh path in /tmp (removed with its WAL files by `remove`).
    static func temporaryPath(_ name: String) -> String {
        "/tmp/procwatch-store-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-\(name)"
    }

    static func remove(_ path: String) {
        for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
    }
}
