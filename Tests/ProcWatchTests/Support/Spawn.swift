import Glibc
@testable import ProcWatchCLI

/// Starting and reaping real processes for the live tests.
enum Spawn {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Starts a command as a shell would (clean signal state), through procwatch's own spawner.
    static func start(_ argv: [String], stdout: Int32? = nil, stderr: Int32? = nil) throws -> Int32 {
        do { return try CommandSpawner.spawn(argv, stdout: stdout, stderr: stderr) } catch {
            throw Failure(description: "posix_spawnp \(argv[0]): \(error)")
        }
    }

    /// Waits for `pid` and returns its raw wait status.
    @discardableResult
    static func wait(_ pid: Int32) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1, errno == EINTR {}
        return status
    }

    /// Waits at most `timeout` for `pid`; nil if it is still running.
    static func wait(_ pid: Int32, timeout: Duration) -> Int32? {
        let deadline = ContinuousClock.now + timeout
        var status: Int32 = 0
        repeat {
            if waitpid(pid, &status, WNOHANG) == pid { return status }
            usleep(2_000)
        } while ContinuousClock.now < deadline
        return nil
    }

    /// Runs to completion; returns (pid, raw wait status).
    static func run(_ argv: [String]) throws -> (pid: Int32, status: Int32) {
        let pid = try start(argv)
        return (pid, wait(pid))
    }

    /// Runs and captures standard output and error (both read to the end).
    ///
    /// `primed`: before `beforeWait`, keep starting /bin/true until the command has printed
    /// something (up to 5 s), so a watcher is known to be subscribed.
    /// - Parameters:
    ///   - primed: waits until the command printed something on standard output (poking
    ///     the kernel with `/bin/true` meanwhile).
    ///   - started: waits until the command said on standard error which source it watches
    ///     with (`procwatch: source: …`), which it does once its source has started —
    ///     whichever backend that is.
    static func capture(_ argv: [String], primed: Bool = false, started: Bool = false,
                        beforeWait: (Int32) throws -> Void = { _ in })
        throws -> (pid: Int32, status: Int32, stdout: String, stderr: String) {
        var out: [Int32] = [0, 0]
        var err: [Int32] = [0, 0]
        pipe(&out)
        pipe(&err)
        let pid = try start(argv, stdout: out[1], stderr: err[1])
        close(out[1])
        close(err[1])
        var early: [UInt8] = []
        var earlyErrors: [UInt8] = []
        if started { earlyErrors = readUntilStarted(err[0], timeout: .seconds(10)) }
        if primed { early = try readOnceAvailable(out[0], pokingWith: ["/bin/true"], timeout: .seconds(5)) }
        try beforeWait(pid)
        let stdout = String(decoding: early + readAll(out[0]), as: UTF8.self)
        let stderr = String(decoding: earlyErrors + readAll(err[0]), as: UTF8.self)
        close(out[0])
        close(err[0])
        return (pid, wait(pid), stdout, stderr)
    }

    /// Reads `fd` until a whole `procwatch: source: …` line (or end of file, or `timeout`);
    /// returns what was read.
    private static func readUntilStarted(_ fd: Int32, timeout: Duration) -> [UInt8] {
        let deadline = ContinuousClock.now + timeout
        var bytes: [UInt8] = []
        let marker = Array("procwatch: source: ".utf8)
        while ContinuousClock.now < deadline {
            if let start = bytes.firstRange(of: marker)?.lowerBound, bytes[start...].contains(UInt8(ascii: "\n")) { break }
            var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 50) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = read(fd, &chunk, chunk.count)
            if count <= 0 { break }
            bytes += chunk[..<count]
        }
        return bytes
    }

    /// Runs `poke` every 50 ms until `fd` has bytes to read; returns one read's worth.
    private static func readOnceAvailable(_ fd: Int32, pokingWith poke: [String], timeout: Duration) throws -> [UInt8] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            _ = try run(poke)
            var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 50) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = read(fd, &chunk, chunk.count)
            return count > 0 ? Array(chunk[..<count]) : []
        }
        return []
    }

    static func readAll(_ fd: Int32) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count < 0, errno == EINTR { continue }
            if count <= 0 { break }
            bytes += chunk[..<count]
        }
        return bytes
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
