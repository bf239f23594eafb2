import Glibc

/// Starting and reaping real processes for the live tests.
enum Spawn {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// posix_spawnp(argv[0], argv) with the test's environment; returns the child's pid.
    static func start(_ argv: [String], stdout: Int32? = nil, stderr: Int32? = nil) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdout { posix_spawn_file_actions_adddup2(&actions, stdout, 1) }
        if let stderr { posix_spawn_file_actions_adddup2(&actions, stderr, 2) }
        var cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        // Children start with no blocked signals and default dispositions: the test runner
        // may ignore or block some (SIGTERM, SIGPIPE), and exec keeps both.
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
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, argv[0], &actions, &attributes, &cArguments, environ)
        guard result == 0 else { throw Failure(description: "posix_spawnp \(argv[0]): \(String(cString: strerror(result)))") }
        return pid
    }

    /// Waits for `pid` and returns its raw wait status.
    @discardableResult
    static func wait(_ pid: Int32) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1, errno == EINTR {}
        return status
    }

    /// Runs to completion; returns (pid, raw wait status).
    static func run(_ argv: [String]) throws -> (pid: Int32, status: Int32) {
        let pid = try start(argv)
        return (pid, wait(pid))
    }

    /// Runs and captures standard output and error (both read to the end).
    static func capture(_ argv: [String], beforeWait: (Int32) throws -> Void = { _ in })
        throws -> (pid: Int32, status: Int32, stdout: String, stderr: String) {
        var out: [Int32] = [0, 0]
        var err: [Int32] = [0, 0]
        pipe(&out)
        pipe(&err)
        let pid = try start(argv, stdout: out[1], stderr: err[1])
        close(out[1])
        close(err[1])
        try beforeWait(pid)
        let stdout = readAll(out[0])
        let stderr = readAll(err[0])
        close(out[0])
        close(err[0])
        return (pid, wait(pid), stdout, stderr)
    }

    static func readAll(_ fd: Int32) -> String {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count < 0, errno == EINTR { continue }
            if count <= 0 { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The procwatch binary built next to the test bundle.
    static var procwatchBinary: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let exe = String(decoding: buffer[..<max(0, length)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let directory = exe.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return directory + "/procwatch"
    }

    /// The calling thread's kernel thread id, from /proc/thread-self.
    static func currentThreadID() -> Int32 {
        var buffer = [CChar](repeating: 0, count: 256)
        let length = readlink("/proc/thread-self", &buffer, buffer.count - 1)
        let text = String(decoding: buffer[..<max(0, length)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return Int32(text.split(separator: "/").last ?? "") ?? -1
    }
}
