import Glibc
import Testing
@testable import ProcWatch
@testable import ProcWatchCLI
@testable import ProcWatchStore
@testable import ProcWatchStoreCLI

/// `record`'s pipeline fed scripted events (pids above pid_max, so /proc never names them):
/// what `-e` and the filters keep as events, and what the `processes` rows still see.
@Suite("Record pipeline (no kernel)")
struct RecordPipelineTests {
    let outside: Int32 = 4_100_000, shell: Int32 = 4_100_001, failing: Int32 = 4_100_002, stranger: Int32 = 4_100_009

    func task(_ pid: Int32) -> TaskID { TaskID(pid: pid, tid: pid) }

    /// Records a shell that runs a child exiting 3 (and an unrelated process) through a
    /// pipeline with `selection` and `filter`; returns the file's path.
    func record(_ name: String, selection: EventSelection, filter: LiveFilter = LiveFilter()) throws -> String {
        let path = StoreWorkload.temporaryPath(name)
        let recorder = try StoreWorkload.recorder(path, taskstats: false)
        let pipeline = RecordPipeline(recorder: recorder, selection: selection, filter: filter,
                                      ownPID: 1, recordsCommand: false)
        let stage = StageDriver()
        let (_, at) = StoreWorkload.clock()
        let events: [ProcessEvent.Detail] = [
            .fork(parent: task(outside), child: task(shell)), .exec(task(shell)), .comm(task(shell), name: "work"),
            .fork(parent: task(shell), child: task(failing)), .exec(task(failing)), .comm(task(failing), name: "fail"),
            .fork(parent: task(outside), child: task(stranger)),
            .exit(task(failing), waitStatus: 768, exitSignal: 17, parent: task(shell)),
            .exit(task(stranger), waitStatus: 256, exitSignal: 17, parent: task(outside)),
            .exit(task(shell), waitStatus: 0, exitSignal: 17, parent: task(outside)),
        ]
        for (index, detail) in events.enumerated() {
            stage.batch([ProcessEvent(detail: detail, timestamp: at(UInt64(index + 1)), cpu: 0, sequence: UInt32(index))]) {
                pipeline.handle($0)
            }
        }
        usleep(20_000)  // the recording ends after the last event
        try recorder.finish(reason: "signal")
        return path
    }

    @Test func processRowsEndAndFailWhenOnlyExecsAreKept() throws {
        let path = try record("exec-only.db", selection: try EventSelection(parsing: "exec"))
        defer { StoreWorkload.remove(path) }
        #expect(try StoreWorkload.rows(path, "SELECT event, pid FROM events ORDER BY id") == ["exec|4100001", "exec|4100002"])
        #expect(try StoreWorkload.rows(path, """
            SELECT pid, ppid, coalesce(parent, '-'), forked, comm, end_ktime_ns IS NOT NULL, exit_code, failed, duration_s
            FROM processes ORDER BY id
            """) == [
                "4100001|4100000|-|1|work|1|0|0|0.009",
                "4100002|4100001|1|1|fail|1|768|1|0.004",
                "4100009|4100000|-|1||1|256|1|0.002",
            ])
        let report = try ReportReader.load(path: path)
        #expect(report.failed.map(\.pid) == [failing, stranger])
        #expect(report.text().split(separator: "\n").contains("  processes  3 (2 failed, 0 threads)"))
    }

    @Test func aPidFilterKeepsRowsOfItsProcessesOnlyAndEndsThem() throws {
        var filter = LiveFilter()
        filter.pid = shell
        let path = try record("pid-filter.db", selection: .all, filter: filter)
        defer { StoreWorkload.remove(path) }
        // The child's own exec, comm and exit do not name the filtered pid: no events rows,
        // but its row follows them; the unrelated process gets nothing.
        #expect(try StoreWorkload.rows(path, "SELECT event, pid FROM events ORDER BY id")
            == ["fork|4100001", "exec|4100001", "comm|4100001", "fork|4100002", "exit|4100001"])
        #expect(try StoreWorkload.rows(path, """
            SELECT pid, comm, json_array_length(execs), end_ktime_ns IS NOT NULL, exit_code, status, failed FROM processes ORDER BY id
            """) == [
                "4100001|work|1|1|0|{\"exited\":0}|0",
                "4100002|fail|1|1|768|{\"exited\":3}|1",
            ])
        #expect(try ReportReader.load(path: path).failed.map(\.pid) == [failing])
    }

    @Test func recordSubscribesToEveryExitWhateverEShows() throws {
        #expect(try EventSelection(parsing: "nonzeroexit").bookkeepingSubscription == [.fork, .exec, .comm, .uid, .exit])
        #expect(try EventSelection(parsing: "exec").bookkeepingSubscription == [.fork, .exec, .comm, .uid, .exit])
        #expect(try EventSelection(parsing: "sid,exit").bookkeepingSubscription == [.fork, .exec, .comm, .uid, .sid, .exit])
    }
}
