#if canImport(Glibc)
import Glibc
#endif

/// Reads /proc/PID files with one `read` each into a reused buffer: the real ``ProcFileSystem``.
///
/// `@unchecked Sendable`: the buffers are reused without a lock, so each user keeps its
/// own instance and calls it from one thread at a time (the protocol's contract).
package final class ProcFS: ProcFileSystem, @unchecked Sendable {
    private var buffer = [UInt8](repeating: 0, count: 32 * 1024)
    /// Clock ticks per second (`/proc/PID/stat` counts start times in them).
    let clockTicks = Double(sysconf(Int32(_SC_CLK_TCK)))

    package init() {}

    /// The bytes of a small /proc file, or nil when it cannot be read (the process is gone).
    func read(_ path: String) -> ArraySlice<UInt8>? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return readAll(fd)
    }

    /// What each exec'd process shows now (see ``ProcFileSystem/readExecs(of:executables:)``).
    ///
    /// Each process is read through one descriptor of its /proc/PID directory (the costly
    /// pid lookup happens once, and everything read describes the same process even if
    /// the pid is reused meanwhile). Command lines go first for the whole batch: a process
    /// loses its command line at exit, before it loses its name, so they are the most
    /// perishable thing an exec line shows.
    package func readExecs(of pids: [Int32], executables: Bool) -> [ExecSnapshot?] {
        var directories: [Int32] = []
        directories.reserveCapacity(pids.count)
        var commandLines: [[String]?] = []
        commandLines.reserveCapacity(pids.count)
        for pid in pids {
            let directory = Self.openDirectory(of: pid)
            directories.append(directory)
            commandLines.append(directory >= 0 ? read(at: directory, "cmdline").map(Self.splitCommandLine) : nil)
        }
        defer { for directory in directories where directory >= 0 { close(directory) } }
        return directories.indices.map { index -> ExecSnapshot? in
            let directory = directories[index]
            guard directory >= 0, let commandLine = commandLines[index] else { return nil }
            let name = read(at: directory, "comm").flatMap(Self.trimmedName)
            // The process was reaped between the two reads: nothing of it is reliable.
            guard name != nil || !commandLine.isEmpty else { return nil }
            let executable = executables ? readExecutable(at: directory) : nil
            // Last: a process changes cgroup only when something moves it, and a child
            // gone by now inherited its parent's at the fork.
            let cgroup = readCgroup(at: directory)
            return ExecSnapshot(commandLine: commandLine, name: name, executable: executable, cgroup: cgroup)
        }
    }

    /// `open("/proc/PID", O_DIRECTORY)` without building a String (no allocation per exec).
    private static func openDirectory(of pid: Int32) -> Int32 {
        var path: (UInt64, UInt64, UInt64) = (0, 0, 0)  // "/proc/" + up to 10 digits + NUL
        return withUnsafeMutableBytes(of: &path) { raw -> Int32 in
            var length = 0
            for byte in "/proc/".utf8 { raw[length] = byte; length += 1 }
            let value = UInt32(bitPattern: pid)
            var divisor: UInt32 = 1
            while value / divisor >= 10 { divisor *= 10 }
            while divisor > 0 {
                raw[length] = UInt8(ascii: "0") + UInt8(value / divisor % 10)
                length += 1
                divisor /= 10
            }
            raw[length] = 0
            return open(raw.baseAddress!.assumingMemoryBound(to: CChar.self), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        }
    }

    /// The target of `exe` under an open /proc/PID directory.
    private func readExecutable(at directory: Int32) -> String? {
        let length = linkTarget.withUnsafeMutableBytes { readlinkat(directory, "exe", $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count) }
        // A result filling the buffer may be cut short: no path rather than a wrong one.
        return length > 0 && length < linkTarget.count ? String(decoding: linkTarget[..<length], as: UTF8.self) : nil
    }

    private var linkTarget = [UInt8](repeating: 0, count: 4096)

    /// The bytes of a small file under an open /proc/PID directory.
    private func read(at directory: Int32, _ name: StaticString) -> ArraySlice<UInt8>? {
        let fd = name.withUTF8Buffer { openat(directory, UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return readAll(fd)
    }

    private func readAll(_ fd: Int32) -> ArraySlice<UInt8> {
        var total = 0
        while total < buffer.count {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + total, $0.count - total) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            total += count
        }
        return buffer[..<total]
    }

    private static func splitCommandLine(_ bytes: ArraySlice<UInt8>) -> [String] {
        var trimmed = bytes
        while trimmed.last == 0 { trimmed = trimmed.dropLast() }
        if trimmed.isEmpty { return [] }
        return trimmed.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    }

    private static func trimmedName(_ bytes: ArraySlice<UInt8>) -> String? {
        var bytes = bytes
        if bytes.last == 0x0A { bytes = bytes.dropLast() }
        return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self)
    }

    /// `/proc/PID/cmdline` split at NULs (empty for kernel threads and zombies); nil when gone.
    func commandLine(_ pid: Int32) -> [String]? {
        read("/proc/\(pid)/cmdline").map(Self.splitCommandLine)
    }

    /// `/proc/PID/comm` without its newline; nil when gone.
    func name(_ pid: Int32) -> String? {
        read("/proc/\(pid)/comm").flatMap(Self.trimmedName)
    }

    /// The target of `/proc/PID/exe`; nil when gone or unreadable (kernel threads).
    func executable(_ pid: Int32) -> String? {
        var target = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/\(pid)/exe", &target, target.count - 1)
        guard length > 0 else { return nil }
        return String(decoding: target[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    package func snapshot(_ pid: Int32) -> ProcessRecord? {
        guard let status = status(pid) else { return nil }
        let ids = uids(pid)
        var record = ProcessRecord(pid: pid, parentPID: status.parent, name: name(pid) ?? "", commandLine: commandLine(pid) ?? [],
                                   executable: executable(pid), uid: ids?.real, effectiveUID: ids?.effective,
                                   startNanoseconds: status.startSinceBoot)
        if let cgroup = cgroup(pid) { record.attribute(cgroup: cgroup) }
        return record
    }

    package func cgroup(_ pid: Int32) -> String? {
        let directory = Self.openDirectory(of: pid)
        guard directory >= 0 else { return nil }
        defer { close(directory) }
        return readCgroup(at: directory)
    }

    /// The attributed cgroup path (``CgroupMembership``) under an open /proc/PID directory.
    ///
    /// A process that has begun to exit (`PF_EXITING`) shows `/` for every v1 hierarchy
    /// whatever its cgroups were (`proc_cgroup_show`): a reading of `/` is believed only of
    /// a process not exiting (flags in `/proc/PID/stat`, read after), else it is nil and the
    /// process keeps what it inherited at fork.
    private func readCgroup(at directory: Int32) -> String? {
        guard let text = read(at: directory, "cgroup"), let path = attributedPath(text) else { return nil }
        guard path == "/" else { return path }
        guard let stat = read(at: directory, "stat"), let close = stat.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        // Fields after "(comm)": state(3) ppid(4) pgrp(5) session(6) tty_nr(7) tpgid(8) flags(9).
        let fields = stat[(close + 2)...].split(separator: UInt8(ascii: " "), maxSplits: 7)
        guard fields.count > 6, let flags = UInt32(String(decoding: fields[6], as: UTF8.self)) else { return nil }
        let exiting: UInt32 = 0x4  // PF_EXITING
        return flags & exiting == 0 ? path : nil
    }

    /// The last `/proc/PID/cgroup` text parsed, and its attributed path: the processes of a
    /// storm, of a build, of a container share one text, which is then compared, not parsed.
    private var lastCgroupText: [UInt8] = []
    private var lastCgroupPath: String?

    private func attributedPath(_ text: ArraySlice<UInt8>) -> String? {
        let same = !text.isEmpty && text.count == lastCgroupText.count && text.withUnsafeBytes { read in
            lastCgroupText.withUnsafeBytes { last in memcmp(read.baseAddress!, last.baseAddress!, read.count) == 0 }
        }
        if same, let lastCgroupPath { return lastCgroupPath }
        let path = CgroupMembership.attributedPath(procCgroup: String(decoding: text, as: UTF8.self))
        lastCgroupText = Array(text)
        lastCgroupPath = path
        return path
    }

    /// From `/proc/PID/stat`: parent pid and start time in nanoseconds since boot.
    package func status(_ pid: Int32) -> (parent: Int32, startSinceBoot: UInt64)? {
        scanStat(pid).map { ($0.parent, $0.startSinceBoot) }
    }

    /// The real and effective uid from `/proc/PID/status`.
    func uids(_ pid: Int32) -> (real: UInt32, effective: UInt32)? {
        read("/proc/\(pid)/status").flatMap { Self.uids(status: String(decoding: $0, as: UTF8.self)) }
    }

    /// The first two fields of the `Uid:` line (real, effective, saved, filesystem).
    static func uids(status text: String) -> (real: UInt32, effective: UInt32)? {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Uid:") }) else { return nil }
        let fields = line.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().prefix(2).compactMap { UInt32($0) }
        return fields.count == 2 ? (fields[0], fields[1]) : nil
    }

    /// Every numeric entry of /proc.
    package func pids() -> [Int32] { numericEntries(of: "/proc") }

    /// The thread ids of a process (`/proc/PID/task`); empty once it is gone.
    package func threads(_ pid: Int32) -> [Int32] { numericEntries(of: "/proc/\(pid)/task") }

    private func numericEntries(of path: String) -> [Int32] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var ids: [Int32] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if let id = Int32(name) { ids.append(id) }
        }
        return ids
    }
}
