import CProcWatch
#if canImport(Glibc)
import Glibc
#endif

/// Starts a command the way a shell would: no blocked signals and default dispositions
/// (Swift's worker threads block some, and exec keeps both), optionally with its standard
/// output and error redirected. Used by `procwatch run` and by the tests.
package enum CommandSpawner {
    package struct Failure: Error, CustomStringConvertible {
        var code: Int32
        package var description: String { String(cString: strerror(code)) }
    }

    /// posix_spawnp(argv[0], argv); returns the child's pid.
    package static func spawn(_ argv: [String], stdout: Int32? = nil, stderr: Int32? = nil) throws(Failure) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdout { posix_spawn_file_actions_adddup2(&actions, stdout, 1) }
        if let stderr { posix_spawn_file_actions_adddup2(&actions, stderr, 2) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        var all = sigset_t()
        sigfillset(&all)
        sigdelset(&all, SIGKILL)
        sigdelset(&all, SIGSTOP)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, argv[0], &actions, &attributes, &cArguments, environ)
        guard result == 0 else { throw Failure(code: result) }
        return pid
    }
}

/// A command started but held before its exec, until ``release()``: `procwatch run
/// --connect` must name the child's pid in its selection and hear the daemon accept it
/// before the command does anything. (The kernel source needs no hold: it subscribes
/// before spawning.) Dropping it unreleased ends the child unrun (exit 127).
package final class HeldCommand {
    /// The child's pid (it exists already, waiting).
    package let pid: Int32
    private var gate: Int32
    private let report: Int32

    /// Forks the child and holds it; `argv[0]` is looked up in PATH when released.
    package init(_ argv: [String]) throws(CommandSpawner.Failure) {
        var gatePipe: [Int32] = [0, 0], reportPipe: [Int32] = [0, 0]
        guard pipe(&gatePipe) == 0 else { throw CommandSpawner.Failure(code: errno) }
        guard pipe(&reportPipe) == 0 else {
            let code = errno
            gatePipe.forEach { close($0) }
            throw CommandSpawner.Failure(code: code)
        }
        // Close-on-exec: the report pipe's end closing at exec is how success is told, and
        // the command must not inherit either gate.
        for fd in gatePipe + reportPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var child: pid_t = 0
        let result = procwatch_spawn_held(argv[0], &cArguments, gatePipe[0], reportPipe[1], &child)
        close(gatePipe[0])
        close(reportPipe[1])
        guard result == 0 else {
            close(gatePipe[1])
            close(reportPipe[0])
            throw CommandSpawner.Failure(code: result)
        }
        pid = child
        gate = gatePipe[1]
        report = reportPipe[0]
    }

    /// Lets the child exec; throws exec's error when it failed (the child then exits 127).
    package func release() throws(CommandSpawner.Failure) {
        var byte: UInt8 = 1
        while write(gate, &byte, 1) < 0, errno == EINTR {}
        close(gate)
        gate = -1
        // The report pipe closes at a successful exec (close-on-exec): EOF means it ran.
        var code: Int32 = 0
        var count: Int
        repeat { count = read(report, &code, MemoryLayout<Int32>.size) } while count < 0 && errno == EINTR
        if count == MemoryLayout<Int32>.size { throw CommandSpawner.Failure(code: code) }
    }

    /// Lets the child go unrun: its gate closes and it exits 127 (the caller reaps it).
    package func abandon() {
        if gate >= 0 { close(gate) }
        gate = -1
    }

    deinit {
        if gate >= 0 { close(gate) }
        close(report)
    }
}
