import Glibc

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }

    /// An error naming the failed call and `errno`.
    static func posix(_ call: String, _ code: Int32 = errno) -> BenchError {
        BenchError("\(call): \(String(cString: strerror(code)))")
    }
}

/// Where a spawned process's stdout or stderr goes.
enum Redirect {
    case inherit
    case devNull
    /// Truncate or create this file.
    case file(String)
    /// dup2 this (parent) descriptor.
    case descriptor(Int32)
}

/// Starts a program with posix_spawn, with an empty signal mask and every signal at its
/// default disposition: the Swift runtime's threads block signals, and a process started
/// in the background by a shell ignores SIGINT, which would keep consumers from stopping.
func spawn(_ argv: [String], stdout: Redirect = .inherit, stderr: Redirect = .inherit) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    for (target, redirect) in [(Int32(1), stdout), (Int32(2), stderr)] {
        switch redirect {
        case .inherit: break
        case .devNull: posix_spawn_file_actions_addopen(&actions, target, "/dev/null", O_WRONLY, 0)
        case .file(let path): posix_spawn_file_actions_addopen(&actions, target, path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        case .descriptor(let fd): posix_spawn_file_actions_adddup2(&actions, fd, target)
        }
    }

    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var none = sigset_t()
    sigemptyset(&none)
    posix_spawnattr_setsigmask(&attributes, &none)
    var all = sigset_t()
    sigfillset(&all)
    posix_spawnattr_setsigdefault(&attributes, &all)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

    let cArguments = argv.map { strdup($0) } + [nil]
    defer { cArguments.forEach { free($0) } }
    var pid = pid_t()
    let rc = posix_spawnp(&pid, argv[0], &actions, &attributes, cArguments, environ)
    guard rc == 0 else { throw BenchError.posix("posix_spawn \(argv[0])", rc) }
    return pid
}

/// How a child ended, with its resource usage (wait4).
struct Termination {
    var status: Int32
    var usage: rusage

    var description: String {
        if status & 0x7f == 0 { return "exit \((status >> 8) & 0xff)" }
        return "signal \(status & 0x7f)"
    }
    var exitedCleanly: Bool { status & 0x7f == 0 && (status >> 8) & 0xff == 0 }
    /// User plus system CPU time in seconds.
    var cpuSeconds: Double { userSeconds + systemSeconds }
    var userSeconds: Double { Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 }
    var systemSeconds: Double { Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6 }
    /// Peak resident set size in MiB (ru_maxrss is in KiB on Linux).
    var peakRSSMiB: Double { Double(usage.ru_maxrss) / 1024 }
}

/// wait4 for `pid`, giving up after `timeout` seconds (nil: the child is still running).
func waitFor(_ pid: pid_t, timeout: Double) -> Termination? {
    let deadline = monotonicNow() + timeout
    while true {
        var status: Int32 = 0
        var usage = rusage()
        let reaped = wait4(pid, &status, WNOHANG, &usage)
        if reaped == pid { return Termination(status: status, usage: usage) }
        if reaped < 0 && errno != EINTR { return Termination(status: 0x7f, usage: usage) }
        if monotonicNow() >= deadline { return nil }
        sleepSeconds(0.01)
    }
}

/// Blocking wait4 for `pid`.
func waitFor(_ pid: pid_t) -> Termination {
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
    return Termination(status: status, usage: usage)
}

/// Stops a consumer the way a user does, SIGINT, escalating to SIGTERM after 10 s and
/// SIGKILL after 5 more; returns how it ended and, if it had to be escalated, why.
func stopGently(_ pid: pid_t) -> (termination: Termination, problem: String?) {
    kill(pid, SIGINT)
    if let termination = waitFor(pid, timeout: 10) { return (termination, nil) }
    kill(pid, SIGTERM)
    if let termination = waitFor(pid, timeout: 5) { return (termination, "did not stop within 10 s of SIGINT; sent SIGTERM") }
    kill(pid, SIGKILL)
    return (waitFor(pid), "did not stop on SIGINT nor SIGTERM; killed")
}

/// Runs a program to its end and returns its stdout.
func capture(_ argv: [String]) throws -> String {
    let (readEnd, writeEnd) = try makePipe()
    let pid: pid_t
    do {
        pid = try spawn(argv, stdout: .descriptor(writeEnd), stderr: .devNull)
    } catch {
        close(readEnd)
        close(writeEnd)
        throw error
    }
    close(writeEnd)
    let output = readAll(readEnd)
    close(readEnd)
    _ = waitFor(pid)
    return output
}

/// Writes a line to stderr (fd 2; the C `stderr` global is not concurrency-safe in Swift 6).
func printError(_ line: String) {
    var bytes = Array((line + "\n").utf8)[...]
    while !bytes.isEmpty {
        let n = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return }
        bytes = bytes.dropFirst(n)
    }
}

/// A pipe whose two ends are close-on-exec (dup2 onto a child's stdout clears the flag there).
func makePipe() throws -> (read: Int32, write: Int32) {
    var fds: [Int32] = [0, 0]
    guard pipe(&fds) == 0 else { throw BenchError.posix("pipe") }
    // pipe2 is not imported; the tool is single-threaded, so nothing can spawn in between.
    for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    return (fds[0], fds[1])
}

/// Reads a descriptor to its end.
func readAll(_ fd: Int32) -> String {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}

func monotonicNow() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// CLOCK_MONOTONIC in ns: the clock of the connector's timestamps (procwatch's `ktime_ns`).
func monotonicNanoseconds() -> Int {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return now.tv_sec * 1_000_000_000 + now.tv_nsec
}

/// CLOCK_BOOTTIME minus CLOCK_MONOTONIC in ns (the time spent suspended): bpftrace 0.17's
/// `nsecs` is boot time.
func bootToMonotonicNanoseconds() -> Int {
    var boot = timespec()
    clock_gettime(CLOCK_BOOTTIME, &boot)
    let monotonic = monotonicNanoseconds()
    return boot.tv_sec * 1_000_000_000 + boot.tv_nsec - monotonic
}

func sleepSeconds(_ seconds: Double) {
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
    var remaining = timespec()
    while nanosleep(&request, &remaining) < 0 && errno == EINTR { request = remaining }
}
