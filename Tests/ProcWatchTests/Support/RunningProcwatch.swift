import Dispatch
import Glibc
@testable import ProcWatch
import Synchronization

/// The `procwatch` binary running in the background, its output piped and read as it comes,
/// for tests that must know when its source has started: it prints `procwatch: source: …`
/// then (the connector's listener probe cannot tell for the kernel-side source), and for
/// tests that end it themselves (signals, a closed pipe).
final class RunningProcwatch: Sendable {
    let pid: Int32
    private let standardOutput: Int32
    private let standardError: Int32
    private let output = Mutex<[UInt8]>([])
    private let errors = Mutex<[UInt8]>([])
    private let drained = DispatchGroup()
    /// The wait status once reaped (a pid is waited for once; later waits answer this).
    private let reaped = Mutex<Int32?>(nil)

    /// Starts `procwatch ARGUMENTS` with `environment` (`NAME=VALUE`) added; Swift's crash
    /// reporter is off, so that a crash signal ends it at once. Its pid is procwatch's.
    /// `wrapper` is a command that execs the rest (`setpriv --reuid=65534 …`), for a
    /// procwatch run as another user: the pid stays procwatch's.
    init(_ arguments: [String], environment: [String] = [], wrapper: [String] = [], readsOutput: Bool = true) throws {
        var out: [Int32] = [0, 0]
        var err: [Int32] = [0, 0]
        // Close-on-exec: procwatch must not hold the read end of its own output (a closed
        // pipe would never be noticed), nor any other child the ends of another's.
        pipe(&out)
        pipe(&err)
        for fd in out + err { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        // No core file either (a test sends crash signals): the shell execs procwatch.
        pid = try Spawn.start(["/bin/sh", "-c", "ulimit -c 0; exec \"$@\"", "sh", "/usr/bin/env", "SWIFT_BACKTRACE=enable=no"]
                              + environment + wrapper + [Spawn.procwatchBinary] + arguments, stdout: out[1], stderr: err[1])
        close(out[1])
        close(err[1])
        standardOutput = out[0]
        standardError = err[0]
        if readsOutput { drain(standardOutput, isOutput: true) }
        drain(standardError, isOutput: false)
    }

    /// Reads `fd` to its end on a thread of its own (a full pipe would stop procwatch).
    private func drain(_ fd: Int32, isOutput: Bool) {
        let group = drained
        group.enter()
        let append: @Sendable ([UInt8]) -> Void = { [self] bytes in
            if isOutput { output.withLock { $0 += bytes } } else { errors.withLock { $0 += bytes } }
        }
        // A thread of its own, not the dispatch pool: a blocking read there could starve
        // the tests' tasks on two cores.
        try? ReaderThread.spawn(name: "test-drain") {
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = read(fd, &chunk, chunk.count)
                if count < 0, errno == EINTR { continue }
                if count <= 0 { break }
                append(Array(chunk[..<count]))
            }
            close(fd)
            group.leave()
        }
    }

    var stdout: String { String(decoding: output.withLock { $0 }, as: UTF8.self) }
    var stderr: String { String(decoding: errors.withLock { $0 }, as: UTF8.self) }

    /// Waits (at most `timeout`) for the first line on standard error: the source line, or
    /// the error that stopped it. Nil if none came.
    func waitForSourceLine(timeout: Duration = .seconds(10)) -> String? {
        guard eventually(timeout: timeout, { stderr.contains("\n") }) else { return nil }
        return stderr.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init)
    }

    /// The descriptor of its standard output, for a test that reads it itself
    /// (`readsOutput: false`), e.g. to close it early.
    var outputDescriptor: Int32 { standardOutput }

    /// Waits for it to end (at most `timeout`), then for its output to be read to the end;
    /// returns the raw wait status, or nil if it is still running.
    func wait(timeout: Duration = .seconds(10)) -> Int32? {
        if let status = reaped.withLock({ $0 }) { return status }
        guard let status = Spawn.wait(pid, timeout: timeout) else { return nil }
        reaped.withLock { $0 = status }
        drained.wait()
        return status
    }

    /// For a test's every way out (`defer`): when still running, SIGTERM — a connector
    /// listener killed with SIGKILL would leak the kernel's listener count —, then SIGKILL
    /// after `grace`; reaped either way.
    func end(grace: Duration = .seconds(15)) {
        guard reaped.withLock({ $0 }) == nil else { return }
        kill(pid, SIGTERM)
        if wait(timeout: grace) == nil {
            kill(pid, SIGKILL)
            _ = wait(timeout: .seconds(30))
        }
    }
}
