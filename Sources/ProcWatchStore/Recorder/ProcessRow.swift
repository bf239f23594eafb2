import OutputBytes
import ProcWatch

/// One row of the `processes` table, kept in memory while the process lives and written
/// (inserted, then updated in place) at each flush after it changed.
package struct ProcessRow: Sendable {
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
    /// The process's `process_key`, when its start is known.
    var key: ProcessKey?
    /// Its cgroup path and the container that names, as the process table attributed them.
    var cgroup: String?
    var container: ContainerAttribution?

    /// The columns, in position order (``write(to:)``'s positions).
    package static let columns = [
        "id", "recording", "pid", "ppid", "parent", "forked", "first_seen", "first_seen_ktime_ns", "start_ktime_ns",
        "end_ktime_ns", "comm", "cmdline", "exe", "execs", "uid", "uid_changes", "threads", "exit_code", "status",
        "failed", "duration_s", "cpu_user_us", "cpu_system_us", "peak_rss_kb", "read_bytes", "write_bytes",
    ] + addedColumns.map(\.name)

    /// Columns added after version 1 was first released, each with its SQLite type: created
    /// with the table, and added to an older file by ``StoreSchema/complete(_:)``.
    package static let addedColumns: [(name: String, type: String)] = [
        ("process_key", "TEXT"), ("cgroup", "TEXT"), ("container_id", "TEXT"), ("container_runtime", "TEXT"),
        ("pod_uid", "TEXT"), ("pod_qos", "TEXT"),
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
        adoptAttribution(record)
    }

    /// Takes the table's key and cgroup attribution (at the row's start, and again at each
    /// exec, which reads the cgroup anew).
    mutating func adoptAttribution(_ record: ProcessRecord?) {
        guard let record else { return }
        if key == nil { key = record.key }
        if let path = record.cgroup {
            cgroup = path
            container = record.container
        }
    }

    /// Binds the row's values to ``upsertSQL``'s parameters (``columns`` order) and runs it.
    func upsert(with statement: BulkInsert, recording: Int64) throws {
        statement.integer(2, recording)
        var values = statement
        write(to: &values)
        try statement.run()
    }

    /// Writes every value but the recording's (position 2, the store's own key) at its
    /// position in ``columns``.
    package func write<Values: ColumnValues>(to statement: inout Values) {
        statement.integer(1, id)
        statement.integer(3, Int64(pid))
        statement.integer(4, Int64(ppid))
        if let parent { statement.integer(5, parent) }
        statement.integer(6, forked ? 1 : 0)
        statement.text(7) { $0.append(rfc3339UnixNanoseconds: firstSeen.unixNanoseconds) }
        statement.integer(8, Int64(clamping: firstSeen.monotonicNanoseconds))
        if let start { statement.integer(9, Int64(clamping: start)) }
        if let end { statement.integer(10, Int64(clamping: end)) }
        statement.text(11, comm)
        if !commandLine.isEmpty { statement.text(12) { $0.append(jsonStrings: commandLine) } }
        if let executable { statement.text(13, executable) }
        statement.text(14) { bytes in Self.appendJSONArray(execs, to: &bytes) { $0.append(jsonStrings: $1) } }
        if let uid { statement.integer(15, Int64(uid)) }
        statement.text(16) { bytes in Self.appendJSONArray(uidChanges, to: &bytes) { $0.append(jsonIntegers: $1) } }
        statement.integer(17, Int64(threads))
        if let waitStatus {
            let status = ExitStatus(waitStatus: waitStatus)
            statement.integer(18, Int64(waitStatus))
            statement.text(19) { $0.append(json: status) }
            statement.integer(20, status.isSuccess ? 0 : 1)
        }
        if let start, let end, end >= start { statement.real(21, Double(end - start) / 1e9) }
        if usage.isAccounted {
            statement.integer(22, Int64(clamping: usage.userMicroseconds))
            statement.integer(23, Int64(clamping: usage.systemMicroseconds))
            statement.integer(24, Int64(clamping: usage.peakRSSKiB))
            statement.integer(25, Int64(clamping: usage.readBytes))
            statement.integer(26, Int64(clamping: usage.writeBytes))
        }
        if let key { statement.text(27, key.description) }
        if let cgroup { statement.text(28, cgroup) }
        if let container {
            statement.text(29, container.id)
            if let runtime = container.runtime { statement.text(30, runtime.rawValue) }
            if let podUID = container.podUID { statement.text(31, podUID) }
            if let podQoS = container.podQoS { statement.text(32, podQoS.rawValue) }
        }
    }

    /// `[a,b,…]` of `items`, each written by `element` (the columns holding lists of lists).
    private static func appendJSONArray<Item>(_ items: [Item], to bytes: inout [UInt8],
                                              element: (inout [UInt8], Item) -> Void) {
        bytes.append(UInt8(ascii: "["))
        for (index, item) in items.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            element(&bytes, item)
        }
        bytes.append(UInt8(ascii: "]"))
    }
}
