import GRDB
import OutputBytes
import ProcWatch

/// One row of the `processes` table, kept in memory while the process lives and written
/// (inserted, then updated in place) at each flush after it changed.
struct ProcessRow {
    var id: Int64
    var pid: Int32
    var ppid: Int32
    var parent: Int64?
    /// Seen at its fork (false: it was running when the recording started).
    var forked: Bool
    var firstSeen: EventTimestamp
    var start: UInt64?
    var end: UInt64?
    var comm = ""
    var commandLine: [String] = []
    var executable: String?
    var execs: [[String]] = []
    var uid: UInt32?
    /// `[ktime_ns, ruid, euid]` per uid event.
    var uidChanges: [[UInt64]] = []
    var threads = 0
    var waitStatus: UInt32?
    /// What its threads' taskstats exit records said (no record: the columns stay NULL).
    var usage = ResourceUsage()

    static let columns = [
        "id", "recording", "pid", "ppid", "parent", "forked", "first_seen", "first_seen_ktime_ns", "start_ktime_ns",
        "end_ktime_ns", "comm", "cmdline", "exe", "execs", "uid", "uid_changes", "threads", "exit_code", "status",
        "failed", "duration_s", "cpu_user_us", "cpu_system_us", "peak_rss_kb", "read_bytes", "write_bytes",
    ]

    static let upsertSQL = """
        INSERT INTO processes (\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))
        ON CONFLICT(id) DO UPDATE SET \(columns.dropFirst().map { "\($0) = excluded.\($0)" }.joined(separator: ", "))
        """

    /// Takes what the process table knows (name, command line, executable, uid).
    mutating func adopt(_ record: ProcessRecord?) {
        guard let record else { return }
        if !record.name.isEmpty { comm = record.name }
        if !record.commandLine.isEmpty { commandLine = record.commandLine }
        if let path = record.executable { executable = path }
        if let id = record.uid { uid = id }
    }

    /// The values, in ``columns`` order.
    func values(recording: Int64) -> [DatabaseValue] {
        let status = waitStatus.map(ExitStatus.init(waitStatus:))
        var duration: Double?
        if let start, let end, end >= start { duration = Double(end - start) / 1e9 }
        let accounted = usage.isAccounted ? usage : nil
        let values: [(any DatabaseValueConvertible)?] = [
            id, recording, pid, ppid, parent, forked,
            StoreClock.rfc3339(unixNanoseconds: firstSeen.unixNanoseconds), Int64(clamping: firstSeen.monotonicNanoseconds),
            start.map { Int64(clamping: $0) }, end.map { Int64(clamping: $0) },
            comm, commandLine.isEmpty ? nil : JSONText.strings(commandLine), executable, JSONText.arrays(execs),
            uid.map { Int64($0) }, "[" + uidChanges.map { "[\($0.map(String.init).joined(separator: ","))]" }.joined(separator: ",") + "]",
            threads, waitStatus.map { Int64($0) }, status?.json, status.map { !$0.isSuccess }, duration,
            accounted.map { Int64(clamping: $0.userMicroseconds) }, accounted.map { Int64(clamping: $0.systemMicroseconds) },
            accounted.map { Int64(clamping: $0.peakRSSKiB) }, accounted.map { Int64(clamping: $0.readBytes) },
            accounted.map { Int64(clamping: $0.writeBytes) },
        ]
        return values.map { $0?.databaseValue ?? .null }
    }
}
