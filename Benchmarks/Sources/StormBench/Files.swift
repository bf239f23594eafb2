import Glibc

/// The whole content of a file as bytes (nil if it cannot be opened).
func readBytes(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return bytes
}

/// The content of a (text) file, "" if it cannot be read.
func readText(_ path: String) -> String {
    readBytes(path).map { String(decoding: $0, as: UTF8.self) } ?? ""
}

/// Calls `body` with every line of `bytes` (without its newline).
func forEachLine(_ bytes: [UInt8], _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
    bytes.withUnsafeBufferPointer { all in
        var start = 0
        while start < all.count {
            var end = start
            while end < all.count && all[end] != UInt8(ascii: "\n") { end += 1 }
            body(UnsafeBufferPointer(rebasing: all[start..<end]))
            start = end + 1
        }
    }
}

func writeText(_ text: String, to path: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw BenchError.posix("open \(path)") }
    defer { close(fd) }
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { throw BenchError.posix("write \(path)") }
        bytes = bytes.dropFirst(n)
    }
}

/// The target of a symbolic link (e.g. /proc/self/exe).
func readLink(_ path: String) -> String? {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let n = readlink(path, &buffer, buffer.count - 1)
    guard n > 0 else { return nil }
    return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// utime + stime of a process in clock ticks, from /proc/PID/stat (all its threads).
func cpuTicks(of pid: pid_t) -> Int? {
    cpuTimes(of: pid).map { $0.user + $0.system }
}

/// utime and stime of a process (all its threads) in clock ticks, from /proc/PID/stat.
func cpuTimes(of pid: pid_t) -> (user: Int, system: Int)? {
    let stat = readText("/proc/\(pid)/stat")
    // The command name (field 2) may hold spaces and parentheses: fields restart after the last ')'.
    guard let close = stat.lastIndex(of: ")") else { return nil }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
    return (user, system)
}

/// Nanoseconds each live thread of a process has run, user and system together
/// (/proc/PID/task/TID/schedstat, first field: the scheduler's own sum, exact where
/// /proc/PID/stat counts clock ticks). Keyed by thread id; nil if the process is gone.
func threadRuntimes(of pid: pid_t) -> [Int: Int]? {
    guard let directory = opendir("/proc/\(pid)/task") else { return nil }
    defer { closedir(directory) }
    var runtimes: [Int: Int] = [:]
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard let tid = Int(name),
              let runtime = readText("/proc/\(pid)/task/\(tid)/schedstat").split(separator: " ").first.flatMap({ Int($0) }) else { continue }
        runtimes[tid] = runtime
    }
    return runtimes
}

/// The peak resident set of a process's current address space in KiB (VmHWM in
/// /proc/PID/status). Unlike wait4's ru_maxrss, it does not include the high-water mark of
/// the memory the process shared with its parent before exec: posix_spawn starts children
/// with CLONE_VM|CLONE_VFORK, so ru_maxrss of a spawned consumer is at least the
/// spawner's own RSS.
func peakRSSKiB(of pid: pid_t) -> Int? {
    for line in readText("/proc/\(pid)/status").split(separator: "\n") where line.hasPrefix("VmHWM:") {
        return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
    }
    return nil
}

/// Waits until a process has stopped using CPU: polls its CPU time every 100 ms until it is
/// unchanged for `quiet` seconds, at most `limit` seconds. Returns the seconds from the
/// call to its last observed CPU use (how long it kept working after the storm).
func waitUntilIdle(_ pid: pid_t, quiet: Double = 0.4, limit: Double = 15) -> (busy: Double, timedOut: Bool) {
    let start = monotonicNow()
    var last = cpuTicks(of: pid)
    var lastChange = start
    while true {
        sleepSeconds(0.1)
        let now = monotonicNow()
        let ticks = cpuTicks(of: pid)
        if ticks == nil { return (lastChange - start, false) }
        if ticks != last {
            last = ticks
            lastChange = now
        } else if now - lastChange >= quiet {
            return (lastChange - start, false)
        }
        if now - start >= limit { return (lastChange - start, true) }
    }
}

/// Where a run's outputs go: `keep` (created if missing) when given, else a new temporary
/// directory /tmp/PREFIX.XXXXXX.
func outputDirectory(keep: String?, prefix: String) throws -> String {
    if let keep {
        mkdir(keep, 0o755)
        return keep
    }
    var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
    guard mkdtemp(&template) != nil else { throw BenchError.posix("mkdtemp") }
    return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}
