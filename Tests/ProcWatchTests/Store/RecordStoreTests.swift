import Foundation
import GRDB
import Glibc
import Testing
@testable import ProcWatch
@testable import ProcWatchStore
@testable import ProcWatchStoreCLI

/// The recording store and its reports on a known workload, without the kernel.
@Suite("Record and report (no kernel)")
struct RecordStoreTests {
    func rows(_ path: String, _ sql: String) throws -> [String] { try StoreWorkload.rows(path, sql) }

    @Test func theWorkloadsRowsExactly() throws {
        let path = StoreWorkload.temporaryPath("rows.db")
        defer { StoreWorkload.remove(path) }
        let record = try StoreWorkload.record(into: path)
        #expect(try rows(path, "PRAGMA user_version") == ["1"])
        #expect(try rows(path, "PRAGMA journal_mode") == ["wal"])
        #expect(try rows(path, "SELECT schema_version, program, end_reason, taskstats, ended IS NOT NULL FROM meta")
            == ["1|procwatch|signal|1|1"])
        let shell = #"["/bin/sh","-c","work"]"#
        #expect(try rows(path, """
            SELECT event, pid, tid, ppid, thread, comm, cmdline, exe, uid, ruid, exit_code, exit_signal, status, count, reason
            FROM events ORDER BY id
            """) == [
                #"fork|50001|50001|100|0|bash|["bash"]|/usr/bin/bash|0|-|-|-|-|-|-"#,
                "exec|50001|50001|100|-|sh|\(shell)|/usr/bin/dash|0|-|-|-|-|-|-",
                "fork|50002|50002|50001|0|sh|\(shell)|/usr/bin/dash|0|-|-|-|-|-|-",
                #"exec|50002|50002|50001|-|sleep|["sleep","0.01"]|/usr/bin/sleep|0|-|-|-|-|-|-"#,
                "fork|50001|50003|100|1|sh|\(shell)|/usr/bin/dash|0|-|-|-|-|-|-",
                #"uid|50002|50002|50001|-|sleep|["sleep","0.01"]|/usr/bin/sleep|65534|65534|-|-|-|-|-"#,
                #"exit|50002|50002|50001|0|sleep|["sleep","0.01"]|/usr/bin/sleep|65534|-|0|17|{"exited":0}|-|-"#,
                "fork|50004|50004|50001|0|sh|\(shell)|/usr/bin/dash|0|-|-|-|-|-|-",
                #"exec|50004|50004|50001|-|false|["false"]|/usr/bin/false|0|-|-|-|-|-|-"#,
                #"exit|50004|50004|50001|0|false|["false"]|/usr/bin/false|0|-|256|17|{"exited":1}|-|-"#,
                "lost|-|-|-|-|-|-|-|-|-|-|-|-|5|seq_gap",
                "exit|50001|50003|0|1|sh|\(shell)|/usr/bin/dash|0|-|0|-1|{\"exited\":0}|-|-",
                "exit|50001|50001|100|0|sh|\(shell)|/usr/bin/dash|0|-|768|17|{\"exited\":3}|-|-",
            ])
        let cpu = Int64(record.userMicroseconds), system = Int64(record.systemMicroseconds)
        #expect(try rows(path, """
            SELECT id, pid, ppid, parent, forked, comm, cmdline, execs, uid, json_array_length(uid_changes), threads,
                   exit_code, status, failed, round(duration_s, 3), cpu_user_us, cpu_system_us FROM processes ORDER BY id
            """) == [
                "1|50001|100|-|1|sh|\(shell)|[\(shell)]|0|0|1|768|{\"exited\":3}|1|0.021|-|-",
                #"2|50002|50001|1|1|sleep|["sleep","0.01"]|[["sleep","0.01"]]|65534|1|0|0|{"exited":0}|0|0.013|\#(cpu)|\#(system)"#,
                #"3|50004|50001|1|1|false|["false"]|[["false"]]|0|0|0|256|{"exited":1}|1|0.002|-|-"#,
            ])
        #expect(try rows(path, "SELECT count(*) FROM jobs") == ["0"])
    }

    @Test func aSecondRecordingAppendsWithNewProcessRows() throws {
        let path = StoreWorkload.temporaryPath("append.db")
        defer { StoreWorkload.remove(path) }
        try StoreWorkload.record(into: path)
        try StoreWorkload.record(into: path)
        #expect(try rows(path, "SELECT id FROM meta") == ["1", "2"])
        #expect(try rows(path, "SELECT recording, count(*), min(id), max(id) FROM processes GROUP BY recording") == ["1|3|1|3", "2|3|4|6"])
    }

    @Test func textReport() throws {
        let path = StoreWorkload.temporaryPath("text.db")
        defer { StoreWorkload.remove(path) }
        let record = try StoreWorkload.record(into: path)
        let cpu = RecordingReport.seconds(Double(record.userMicroseconds + record.systemMicroseconds) / 1e6)
        let text = try ReportReader.load(path: path).text()
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.first == "procwatch report: \(path)")
        #expect(lines.contains("  processes  3 (2 failed, 1 threads)"))
        #expect(lines.contains("  events     13 (exit 4, fork 4, exec 3, lost 1, uid 1)"))
        #expect(lines.contains("  lost       5 events in 1 reports (seq_gap 5)"))
        let tree = try #require(lines.firstIndex(of: "process tree (lifetime, CPU, exit):"))
        #expect(Array(lines[(tree + 1)...(tree + 3)]) == [
            "  50001 /bin/sh -c work  0.021000s  cpu -  exit 3",
            "    50002 sleep 0.01  0.013000s  cpu \(cpu)s  exit 0",
            "    50004 false  0.002000s  cpu -  exit 1",
        ])
        let top = try #require(lines.firstIndex(of: "top commands by count:"))
        #expect(lines[top + 2].hasPrefix("  false ") || lines[top + 2].hasPrefix("  sh "))
        #expect(Array(lines.suffix(3)) == ["failed exits:", "  50004 false  exit 1", "  50001 /bin/sh -c work  exit 3"])
        #expect(lines.contains { $0.hasPrefix("  recording  #1 on ") && $0.hasSuffix("ended by signal") })
    }

    @Test func jsonReportIsOneDocumentWithTheTree() throws {
        let path = StoreWorkload.temporaryPath("json.db")
        defer { StoreWorkload.remove(path) }
        try StoreWorkload.record(into: path)
        let document = try ReportReader.load(path: path).json()
        let json = try #require(try JSONSerialization.jsonObject(with: Data(document.utf8)) as? [String: Any])
        let summary = try #require(json["summary"] as? [String: Any])
        #expect(summary["processes"] as? Int == 3)
        #expect(summary["failed"] as? Int == 2)
        #expect(summary["lost_events"] as? Int == 5)
        #expect(summary["events"] as? [String: Int] == ["fork": 4, "exec": 3, "exit": 4, "uid": 1, "lost": 1])
        let tree = try #require(json["tree"] as? [[String: Any]])
        #expect(tree.map { $0["pid"] as? Int } == [50001])
        #expect(tree[0]["cmdline"] as? [String] == StoreWorkload.shell)
        #expect(tree[0]["status"] as? [String: Int] == ["exited": 3])
        let children = try #require(tree[0]["children"] as? [[String: Any]])
        #expect(children.map { $0["pid"] as? Int } == [50002, 50004])
        #expect(children[0]["duration_s"] as? Double == 0.013)
        let failed = try #require(json["failed"] as? [[String: Any]])
        #expect(failed.map { $0["pid"] as? Int } == [50004, 50001])
        let top = try #require(json["top_commands"] as? [String: Any])
        let byCount = try #require(top["by_count"] as? [[String: Any]])
        #expect(Set(byCount.map { $0["program"] as? String ?? "" }) == ["sh", "sleep", "false"])
    }

    @Test func filtersSelectProcessesAndTime() throws {
        let path = StoreWorkload.temporaryPath("filters.db")
        defer { StoreWorkload.remove(path) }
        try StoreWorkload.record(into: path)
        func pids(_ configure: (inout ReportFilter) throws -> Void) throws -> [Int32] {
            var filter = ReportFilter()
            try configure(&filter)
            return try ReportReader.load(path: path, filter: filter).processes.map(\.pid)
        }
        #expect(try pids { _ in } == [50001, 50002, 50004])
        #expect(try pids { $0.pid = 50002 } == [50002])
        #expect(try pids { $0.tree = 50002 } == [50002])
        #expect(try pids { $0.tree = 50001 } == [50001, 50002, 50004])
        #expect(try pids { $0.comm = try Regex("^(false|sleep)$") } == [50002, 50004])
        #expect(try pids { $0.until = .offset(0) } == [])
        #expect(try pids { $0.since = .offset(3600) } == [])
        #expect(try pids { $0.since = .time(0) } == [50001, 50002, 50004])
        var filter = ReportFilter()
        filter.pid = 50004
        let report = try ReportReader.load(path: path, filter: filter)
        #expect(report.eventCounts == ["fork": 1, "exec": 1, "exit": 1, "lost": 1])
    }

    @Test func unknownEventsKeepTheirKindNumberAndBytes() throws {
        let path = StoreWorkload.temporaryPath("unknown.db")
        defer { StoreWorkload.remove(path) }
        let recorder = try StoreWorkload.recorder(path, taskstats: false)
        let (_, at) = StoreWorkload.clock()
        recorder.record(EnrichedEvent(event: ProcessEvent(detail: .unknown(what: 0x800, data: [1, 0, 255, 16]), timestamp: at(1),
                                                          cpu: 1, sequence: 42)))
        try recorder.finish(reason: "signal")
        #expect(try rows(path, "SELECT event, cpu, seq, pid, process, what, data FROM events")
            == ["unknown|1|42|-|-|2048|[1,0,255,16]"])
    }

    @Test func aVersion1FileWithoutTheUnknownColumnsIsReadAndAppendedTo() throws {
        let path = StoreWorkload.temporaryPath("early-v1.db")
        defer { StoreWorkload.remove(path) }
        try StoreWorkload.record(into: path)
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: "ALTER TABLE events DROP COLUMN what; ALTER TABLE events DROP COLUMN data") }
        try queue.close()
        #expect(try ReportReader.load(path: path).processes.count == 3)
        try StoreWorkload.record(into: path)
        #expect(try rows(path, "SELECT recording, count(*), count(what) FROM events GROUP BY recording") == ["1|13|0", "2|13|0"])
        #expect(try rows(path, "SELECT name FROM pragma_table_info('events') WHERE name IN ('what', 'data')") == ["what", "data"])
    }

    @Test func aTaskstatsOverflowIsALostEventInTheReport() throws {
        let path = StoreWorkload.temporaryPath("taskstats-loss.db")
        defer { StoreWorkload.remove(path) }
        let recorder = try StoreWorkload.recorder(path, taskstats: true)
        let (_, at) = StoreWorkload.clock()
        // The enrichment stage's reports (EnrichmentTests): 5 records, an overflow whose drop
        // counter could not be read, then 7 more.
        for (index, count) in [5, nil, 7].enumerated() {
            recorder.record(EnrichedEvent(event: ProcessEvent(detail: .lost(count: count, reason: .taskstats, cpu: nil),
                                                              timestamp: at(UInt64(index + 1)))))
        }
        usleep(10_000)  // the recording ends after the last event
        try recorder.finish(reason: "signal")
        #expect(try rows(path, "SELECT event, count, reason, cpu, pid FROM events ORDER BY id")
            == ["lost|5|taskstats|-|-", "lost|-|taskstats|-|-", "lost|7|taskstats|-|-"])
        let report = try ReportReader.load(path: path)
        #expect(report.lostReports == 3)
        #expect(report.lostEvents == 12)
        #expect(report.lostByReason == ["taskstats": 12])
        #expect(report.text().split(separator: "\n").contains(
            "  lost       12 events in 3 reports (taskstats 12: exit records, CPU, memory and I/O undercounted)"))
    }

    @Test func timestampsParse() {
        #expect(TimeBound(parsing: "12.5") == .offset(12.5))
        #expect(TimeBound(parsing: "2026-11-23T03:00:00Z") == .time(1_795_402_800_000_000_000))
        #expect(TimeBound(parsing: "2026-11-23T03:00Z") == .time(1_795_402_800_000_000_000))
        #expect(TimeBound(parsing: "2026-11-23 03:00:00.5") == .time(1_795_402_800_500_000_000))
        #expect(TimeBound(parsing: "2026-11-23") == .time(1_795_392_000_000_000_000))
        #expect(TimeBound(parsing: "yesterday") == nil)
        #expect(TimeBound(parsing: "-3") == nil)
    }
}
