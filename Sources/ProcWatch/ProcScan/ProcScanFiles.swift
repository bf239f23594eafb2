#if canImport(Glibc)
import Glibc
#endif

/// What the /proc scanner reads beyond the process table's reads: each task's `stat`
/// line, the pid namespace's last allocated pid, and whether a pid number is a live task.
/// ``ProcFS`` is the real one; tests play a /proc with a scripted one.
package protocol ProcScanFiles: ProcFileSystem {
    /// `/proc/PID/stat` of a listed process; nil when it is gone.
    func scanStat(_ pid: Int32) -> ScannedStat?
    /// `/proc/sys/kernel/ns_last_pid`: the last pid number the reader's pid namespace
    /// handed out (to a process or a thread); nil where it cannot be read.
    func lastAllocatedPID() -> Int32?
    /// Whether `/proc/ID` exists: a live process, or a live thread (listed under its
    /// process only, but reachable by its own number).
    func taskExists(_ id: Int32) -> Bool
}

/// What one `/proc/PID/stat` line tells the scanner.
package struct ScannedStat: Sendable, Hashable {
    /// `ppid`.
    package var parent: Int32
    /// `state`: `Z` for a zombie (exited, not yet reaped).
    package var state: UInt8
    /// `starttime`, in nanoseconds since boot: with the pid, what tells a reused pid apart.
    package var startSinceBoot: UInt64
    /// `comm`.
    package var name: String
    /// `exit_code` (field 52, Linux 3.5+): the wait status, meaningful for a zombie.
    package var exitCode: UInt32?

    package init(parent: Int32, state: UInt8, startSinceBoot: UInt64, name: String, exitCode: UInt32? = nil) {
        self.parent = parent
        self.state = state
        self.startSinceBoot = startSinceBoot
        self.name = name
        self.exitCode = exitCode
    }

    /// Parses a stat line: `pid (comm) state ppid … starttime(22) … exit_code(52)`. The
    /// name may hold spaces and parentheses: it ends at the last `)`.
    package static func parse(_ bytes: ArraySlice<UInt8>, clockTicks: Double) -> ScannedStat? {
        guard let open = bytes.firstIndex(of: UInt8(ascii: "(")),
              let close = bytes.lastIndex(of: UInt8(ascii: ")")), close + 2 < bytes.endIndex else { return nil }
        let name = String(decoding: bytes[(open + 1)..<close], as: UTF8.self)
        let fields = bytes[(close + 2)...].split(separator: UInt8(ascii: " "))
        guard fields.count > 19, let state = fields[0].first,
              let parent = Int32(String(decoding: fields[1], as: UTF8.self)),
              let ticks = UInt64(String(decoding: fields[19], as: UTF8.self)) else { return nil }
        let exitCode = fields.count > 49 ? UInt32(String(decoding: fields[49].filter { $0 != UInt8(ascii: "\n") }, as: UTF8.self)) : nil
        return ScannedStat(parent: parent, state: state, startSinceBoot: UInt64(Double(ticks) / clockTicks * 1e9),
                           name: name, exitCode: exitCode)
    }
}

extension ProcFS: ProcScanFiles {
    package func scanStat(_ pid: Int32) -> ScannedStat? {
        read("/proc/\(pid)/stat").flatMap { ScannedStat.parse($0, clockTicks: clockTicks) }
    }

    package func lastAllocatedPID() -> Int32? {
        read("/proc/sys/kernel/ns_last_pid").flatMap { Int32(String(decoding: $0.filter { $0 != UInt8(ascii: "\n") }, as: UTF8.self)) }
    }

    package func taskExists(_ id: Int32) -> Bool { access("/proc/\(id)/stat", F_OK) == 0 }
}
