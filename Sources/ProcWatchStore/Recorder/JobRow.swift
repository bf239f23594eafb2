import GRDB
import OutputBytes
import ProcWatch

/// One row of the `jobs` table: a recorded command's tree and its totals.
struct JobRow {
    var job: RecordedJob

    init(_ job: RecordedJob) { self.job = job }

    func insert(_ db: Database, recording: Int64) throws {
        let members = job.members
        let usage = members.usage
        let status = job.waitStatus.map(ExitStatus.init(waitStatus:))
        var wall: Double?
        if let end = job.end, end >= job.start { wall = Double(end - job.start) / 1e9 }
        let root = try Int64.fetchOne(db, sql: """
            SELECT id FROM processes WHERE recording = ? AND pid = ? AND start_ktime_ns >= ? ORDER BY id LIMIT 1
            """, arguments: [recording, job.rootPID, Int64(clamping: job.start) - 1_000_000_000])
        try db.execute(sql: """
            INSERT INTO jobs (recording, root, root_pid, command, start_ktime_ns, end_ktime_ns, wall_s, exit_code, status,
                              processes, threads, failed, cpu_user_us, cpu_system_us, peak_rss_kb, read_bytes, write_bytes)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [
                recording, root, job.rootPID, JSONText.strings(job.command), Int64(clamping: job.start),
                job.end.map { Int64(clamping: $0) }, wall, job.waitStatus.map { Int64($0) }, status?.json,
                members.count, members.reduce(0) { $0 + $1.threads },
                members.filter { $0.status.map { !$0.isSuccess } ?? false }.count,
                Int64(clamping: usage.userMicroseconds), Int64(clamping: usage.systemMicroseconds),
                Int64(clamping: usage.peakRSSKiB), Int64(clamping: usage.readBytes), Int64(clamping: usage.writeBytes),
            ])
    }
}
