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
