import Foundation
import GRDB
import ProcWatch

/// Reads a recording file into a ``RecordingReport``.
public enum ReportReader {
    /// Opens `path` read-only (a recording in progress or cut short by kill -9 opens too)
    /// and reads what `filter` selects. Throws one-line errors for a missing, empty,
    /// truncated or damaged file, a file that is not SQLite, another program's database,
    /// another schema version and a recording the file does not hold.
    public static func load(path: String, filter: ReportFilter = ReportFilter()) throws(StoreError) -> RecordingReport {
        try StoreFile.reading(path) { db in try read(db, path: path, filter: filter) }
    }

    private struct SessionClock {
        var offset: Int64
        var start: Int64
        var end: Int64
    }

    private static func read(_ db: Database, path: String, filter: ReportFilter) throws -> RecordingReport {
        var sessions: [RecordingReport.Session] = []
        var clocks: [Int64: SessionClock] = [:]
        for row in try Row.fetchAll(db, sql: """
            SELECT m.*, (SELECT max(ktime_ns) FROM events e WHERE e.recording = m.id) AS last_event FROM meta m ORDER BY id
            """) {
            let id: Int64 = row["id"]
            let offset: Int64 = row["clock_offset_ns"]
            let start: Int64 = row["started_ktime_ns"]
            let end: Int64 = row["ended_ktime_ns"] ?? max(row["last_event"] ?? start, start)
            clocks[id] = SessionClock(offset: offset, start: start + offset, end: end + offset)
            let ended: String? = row["ended"]
            sessions.append(RecordingReport.Session(
                id: id, host: row["host"], kernel: row["kernel"], command: strings(row["command"]), filters: row["filters"],
                started: row["started"], ended: ended, endReason: row["end_reason"], taskstats: row["taskstats"],
                inProgress: ended == nil && RecordingLock.isHeld(path: path, recording: id)))
        }
        let held = sessions.map(\.id)
        if let choice = filter.recording {
            let id = switch choice {
            case .id(let id): id
            case .last: held.last ?? 1
            }
            guard let session = sessions.first(where: { $0.id == id }) else {
                throw StoreError.noSuchRecording(path: path, id: id, held: held)
            }
            sessions = [session]
            clocks = clocks.filter { $0.key == id }
        }
        let recordings = sessions.map { "\($0.id)" }.joined(separator: ",")
        let firstStart = clocks.values.map(\.start).min() ?? 0
        let windowStart = max(filter.since?.unixNanoseconds(recordingStart: firstStart) ?? firstStart, firstStart)
        let lastEnd = clocks.values.map(\.end).max() ?? firstStart
        let windowEnd = min(filter.until?.unixNanoseconds(recordingStart: firstStart) ?? lastEnd, lastEnd)

        var all: [StoredProcess] = []
        var recordingEnd: [Int64: Int64] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT * FROM processes ORDER BY id") {
            guard let clock = clocks[row["recording"]] else { continue }
            let startKnown = (row["start_ktime_ns"] as Int64?) != nil
            let start: Int64 = (row["start_ktime_ns"] ?? row["first_seen_ktime_ns"]) + clock.offset
            let end: Int64? = (row["end_ktime_ns"] as Int64?).map { $0 + clock.offset }
            let user: Int64? = row["cpu_user_us"]
            let system: Int64? = row["cpu_system_us"]
            let process = StoredProcess(
                id: row["id"], parent: row["parent"], pid: row["pid"], ppid: row["ppid"], comm: row["comm"],
                commandLine: strings(row["cmdline"]) ?? [], start: start, end: end, startKnown: startKnown,
                status: (row["exit_code"] as Int64?).map { ExitStatus(waitStatus: UInt32(truncatingIfNeeded: $0)) },
                cpuSeconds: user.map { Double($0 + (system ?? 0)) / 1e6 }, peakRSSKiB: row["peak_rss_kb"],
                readBytes: row["read_bytes"], writeBytes: row["write_bytes"], threads: row["threads"],
                // Absent from files recorded before them: read as NULL.
                containerID: row.hasColumn("container_id") ? row["container_id"] : nil,
                containerRuntime: row.hasColumn("container_runtime") ? row["container_runtime"] : nil,
                podUID: row.hasColumn("pod_uid") ? row["pod_uid"] : nil, podQoS: row.hasColumn("pod_qos") ? row["pod_qos"] : nil)
            recordingEnd[process.id] = clock.end
            all.append(process)
        }
        let (ordered, depths) = arrange(all, recordingEnd: recordingEnd, windowStart: windowStart, windowEnd: windowEnd, filter: filter)
        let selectedIDs = Set(ordered.map(\.id))

        var counts: [String: Int] = [:]
        var lostReports = 0, lostEvents = 0
        var lostByReason: [String: Int] = [:]
        let window = "e.ktime_ns + (SELECT clock_offset_ns FROM meta m WHERE m.id = e.recording) BETWEEN ? AND ?"
        for row in try Row.fetchAll(db, sql: """
            SELECT e.event, e.process, e.reason, count(*) AS n, sum(e.count) AS lost FROM events e
            WHERE e.recording IN (\(recordings)) AND \(window) GROUP BY e.event, e.process, e.reason
            """, arguments: [windowStart, windowEnd]) {
            let event: String = row["event"]
            let n: Int = row["n"]
            if event == "lost" {
                lostReports += n
                let lost: Int = row["lost"] ?? 0
                lostEvents += lost
                lostByReason[row["reason"] ?? "unknown", default: 0] += lost
            } else if filter.selectsProcesses, !selectedIDs.contains(row["process"] ?? -1) {
                continue
            }
            counts[event, default: 0] += n
        }
        let jobs = try Row.fetchAll(db, sql: "SELECT * FROM jobs WHERE recording IN (\(recordings)) ORDER BY id").map { row in
            RecordingReport.JobTotals(
                command: strings(row["command"]) ?? [], rootPID: row["root_pid"],
                status: (row["exit_code"] as Int64?).map { ExitStatus(waitStatus: UInt32(truncatingIfNeeded: $0)) },
                wallSeconds: row["wall_s"], processes: row["processes"], threads: row["threads"], failed: row["failed"],
                cpuSeconds: Double((row["cpu_user_us"] as Int64) + (row["cpu_system_us"] as Int64)) / 1e6,
                peakRSSKiB: row["peak_rss_kb"], readBytes: row["read_bytes"], writeBytes: row["write_bytes"])
        }
        return RecordingReport(path: path, sessions: sessions, recordingsInFile: held, start: windowStart, end: max(windowEnd, windowStart),
                               processes: ordered, depths: depths, eventCounts: counts, lostReports: lostReports,
                               lostEvents: lostEvents, lostByReason: lostByReason, jobs: jobs)
    }

    /// The processes that overlap the window (one without an end lasts to `recordingEnd` of its
    /// id) and that `filter` selects, depth-first with their depths: the report's process list,
    /// from a file or from the fleet store.
    package static func arrange(_ all: [StoredProcess], recordingEnd: [Int64: Int64], windowStart: Int64, windowEnd: Int64,
                                filter: ReportFilter) -> ([StoredProcess], [Int]) {
        let inWindow = all.filter { $0.start <= windowEnd && ($0.end ?? recordingEnd[$0.id] ?? windowEnd) >= windowStart }
        return depthFirst(select(inWindow, filter))
    }

    /// Applies `--pid`, `--tree` and `--comm`.
    private static func select(_ processes: [StoredProcess], _ filter: ReportFilter) -> [StoredProcess] {
        var result = processes
        if let pid = filter.pid { result = result.filter { $0.pid == pid } }
        if let root = filter.tree {
            var members = Set(result.filter { $0.pid == root }.map(\.id))
            for process in result where process.parent.map(members.contains) == true { members.insert(process.id) }
            result = result.filter { members.contains($0.id) }  // ids grow with fork order: parents come first
        }
        if let comm = filter.comm {
            result = result.filter { (try? comm.firstMatch(in: $0.comm)) != nil || (try? comm.firstMatch(in: $0.program)) != nil }
        }
        return result
    }

    /// Each process followed by its descendants; roots and siblings by start time.
    private static func depthFirst(_ processes: [StoredProcess]) -> ([StoredProcess], [Int]) {
        let ids = Set(processes.map(\.id))
        var children: [Int64: [StoredProcess]] = [:]
        var roots: [StoredProcess] = []
        for process in processes {
            if let parent = process.parent, ids.contains(parent) { children[parent, default: []].append(process) } else { roots.append(process) }
        }
        var ordered: [StoredProcess] = []
        var depths: [Int] = []
        var stack = roots.sorted { ($0.start, $0.id) > ($1.start, $1.id) }.map { ($0, 0) }
        while let (process, depth) = stack.popLast() {
            ordered.append(process)
            depths.append(depth)
            let next = (children[process.id] ?? []).sorted { ($0.start, $0.id) > ($1.start, $1.id) }
            stack.append(contentsOf: next.map { ($0, depth + 1) })
        }
        return (ordered, depths)
    }

    /// A JSON array of strings, as the `cmdline` and `command` columns hold.
    package static func strings(_ text: String?) -> [String]? {
        guard let text else { return nil }
        return try? JSONDecoder().decode([String].self, from: Data(text.utf8))
    }
}
