import GRDB
import Glibc
@testable import ProcWatch
import ProcWatchStore

/// A store with known processes at fixed times, written by the real recorder without the
/// kernel: its recording's clock is pinned afterwards so that the kernel time `base` is
/// 2026-11-23T00:00:00Z.
enum HistoryWorkload {
    /// 2026-11-23T00:00:00Z in Unix nanoseconds.
    static let midnight: Int64 = 1_795_392_000 * 1_000_000_000
    /// The kernel (CLOCK_MONOTONIC) time of `midnight` in the workload.
    static let base: UInt64 = 1_000_000_000_000

    /// A recorder writing into `path` that numbers events from 1.
    struct Feeder {
        let recorder: ProcWatchStore.Recorder
        var sequence: UInt32 = 0

        init(_ path: String) throws {
            recorder = try ProcWatchStore.Recorder(
                path: path, session: RecordingSession(arguments: ["daemon"], command: nil, filters: nil, taskstats: true))
        }

        static func at(_ milliseconds: UInt64) -> EventTimestamp {
            EventTimestamp(monotonicNanoseconds: base + milliseconds * 1_000_000,
                           unixNanoseconds: midnight + Int64(milliseconds) * 1_000_000)
        }

        static func record(_ pid: Int32, _ argv: [String], uid: UInt32, start: UInt64, exe: String? = nil) -> ProcessRecord {
            ProcessRecord(pid: pid, parentPID: 100, name: String((argv.first ?? "").split(separator: "/").last ?? ""),
                          commandLine: argv, executable: exe, uid: uid, startNanoseconds: base + start * 1_000_000)
        }

        mutating func send(_ detail: ProcessEvent.Detail, _ milliseconds: UInt64, _ record: ProcessRecord?,
                           exitRecord: TaskstatsRecord? = nil) {
            sequence += 1
            recorder.record(EnrichedEvent(event: ProcessEvent(detail: detail, timestamp: Self.at(milliseconds), cpu: 0, sequence: sequence),
                                          process: record, exitRecord: exitRecord))
        }

        /// A process of 100 that forks at `start`, execs `argv` 1 ms later, and exits
        /// with `status` at `end` (milliseconds after midnight); no end: it runs on.
        mutating func process(_ pid: Int32, _ argv: [String], uid: UInt32, start: UInt64, end: UInt64?, status: UInt32 = 0,
                              exe: String? = nil, exitRecord: TaskstatsRecord? = nil) {
            let record = Self.record(pid, argv, uid: uid, start: start, exe: exe)
            send(.fork(parent: TaskID(pid: 100, tid: 100), child: TaskID(pid: pid, tid: pid)), start,
                 Self.record(pid, ["bash"], uid: uid, start: start))
            send(.exec(TaskID(pid: pid, tid: pid)), start + 1, record)
            if let end {
                send(.exit(TaskID(pid: pid, tid: pid), waitStatus: status, exitSignal: 17, parent: TaskID(pid: 100, tid: 100)), end,
                     record, exitRecord: exitRecord)
            }
        }
    }

    /// Pins every recording's clock so that kernel time `base` is `midnight`, and its span
    /// to the workload's: it starts at `base` and (when it ended) ends three hours later.
    /// The recorder wrote the machine's own CLOCK_MONOTONIC there, which on a machine up
    /// for less than the workload's two hours put the recording's end before its last
    /// processes (a report then left them out).
    static func pinClock(_ path: String) throws {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        try queue.write { db in
            try db.execute(sql: """
                UPDATE meta SET clock_offset_ns = ?, started_ktime_ns = ?,
                                ended_ktime_ns = CASE WHEN ended_ktime_ns IS NULL THEN NULL ELSE ? END
                """, arguments: [midnight - Int64(base), Int64(base), Int64(base) + 3 * 3_600_000_000_000])
        }
    }

    /// The taskstats record the store tests use (its CPU: see ``cpu``).
    static let taskstats = GoldenTaskstats.version16.withUnsafeBytes { TaskstatsRecord(id: 2002, isProcessTotal: false, bytes: $0) }

    /// Six processes over two hours of 2026-11-23 (times after midnight UTC):
    ///
    /// | pid | user | start | end | status | command |
    /// |---|---|---|---|---|---|
    /// | 2001 | 65534 | 00:00:00.000 | +1.5 s | exit 0 | `sh -c 'echo hi'` |
    /// | 2002 | 0 | 00:00:10.000 | +2 s | exit 3 (taskstats) | `make -j2` |
    /// | 2003 | 0 | 01:00:00.000 | +100 s | SIGKILL | `sleep 100` |
    /// | 2004 | 0 | 02:00:00.000 | +0.25 s | exit 0 | `printf '%s\n' it's` |
    /// | 2005 | 65534 | 02:01:00.000 | +3 s | SIGSEGV, core | `/usr/bin/ssh host` |
    /// | 2006 | 0 | 02:02:00.000 | — | — | `tail -f log` |
    ///
    /// With `finish`, the recording ends (2006's end is then unknown); without, the
    /// recorder is returned still recording (2006 runs).
    @discardableResult
    static func record(into path: String, finish: Bool = true) throws -> ProcWatchStore.Recorder {
        var feeder = try Feeder(path)
        feeder.process(2001, ["sh", "-c", "echo hi"], uid: 65534, start: 0, end: 1500, exe: "/usr/bin/dash")
        feeder.process(2002, ["make", "-j2"], uid: 0, start: 10_000, end: 12_000, status: 768, exe: "/usr/bin/make",
                       exitRecord: taskstats)
        feeder.process(2003, ["sleep", "100"], uid: 0, start: 3_600_000, end: 3_700_000, status: 9, exe: "/usr/bin/sleep")
        feeder.process(2004, ["printf", "%s\n", "it's"], uid: 0, start: 7_200_000, end: 7_200_250)
        feeder.process(2005, ["/usr/bin/ssh", "host"], uid: 65534, start: 7_260_000, end: 7_263_000, status: 139, exe: "/usr/bin/ssh")
        feeder.process(2006, ["tail", "-f", "log"], uid: 0, start: 7_320_000, end: nil, exe: "/usr/bin/tail")
        try feeder.recorder.flush()
        if finish { try feeder.recorder.finish(reason: "signal") }
        try pinClock(path)
        return feeder.recorder
    }
}
