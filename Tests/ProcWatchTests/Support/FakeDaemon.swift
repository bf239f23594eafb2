import Glibc
@testable import ProcWatch
import Synchronization

/// A stand-in for `procwatch daemon` (docs/daemon-protocol.md) on a Unix socket in a temporary
/// directory: it accepts one client, sends `hello`, reads the selection line, answers with
/// what `answer` returns for it (the answer line and the event lines, `PID` in them replaced
/// by the selection's first tree), then keeps the connection open for `hold` seconds or
/// closes it at once.
final class FakeDaemon: Sendable {
    let directory: String
    var path: String { directory + "/procwatch.sock" }
    private let listener: Int32
    private let received = Mutex<String?>(nil)
    private let finished = Atomic<Bool>(false)

    /// The selection line the client sent (nil until it did).
    var selection: String? { received.withLock { $0 } }

    init(hello: String = #"{"procwatch":"daemon","protocol":1,"version":"0.1.0","source":"bpf","visibility":"all","uid":0}"#,
         events: [String] = [], answer: String = #"{"ok":true}"#, hold: Double = 5) throws {
        var template = Array("/tmp/procwatch-fake-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw Spawn.Failure(description: "mkdtemp failed") }
        directory = String(cString: made)
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let socketPath = directory + "/procwatch.sock"
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: socketPath.utf8) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(listener, 4) == 0 else { throw Spawn.Failure(description: "bind/listen failed: \(errno)") }
        let fd = listener
        try ReaderThread.spawn(name: "fake-daemon") { [self] in
            let client = accept(fd, nil, nil)
            guard client >= 0 else { return }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)  // the client's children must not hold it
            defer { close(client); finished.store(true, ordering: .releasing) }
            Self.send(client, hello)
            guard let line = Self.readLine(client) else { return }
            received.withLock { $0 = line }
            let tree = Self.firstTree(in: line)
            Self.send(client, answer)
            for event in events { Self.send(client, event.replacingPID(with: tree)) }
            let deadline = Clocks.monotonicSeconds() + hold
            while Clocks.monotonicSeconds() < deadline { usleep(20_000) }
        }
    }

    /// Waits (at most 10 s) until the fake has served its client and closed the connection.
    func waitUntilDone() { _ = eventually(timeout: .seconds(10)) { finished.load(ordering: .acquiring) } }

    deinit {
        close(listener)
        unlink(path)
        rmdir(directory)
    }

    private static func send(_ fd: Int32, _ line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    private static func readLine(_ fd: Int32) -> String? {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while read(fd, &byte, 1) == 1 {
            if byte == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
        return nil
    }

    /// The first pid of `"trees":[…]`, or 0.
    private static func firstTree(in line: String) -> Int32 {
        guard let range = line.firstRange(of: "\"trees\":[") else { return 0 }
        return Int32(line[range.upperBound...].prefix { $0.isNumber }) ?? 0
    }
}

private extension String {
    func replacingPID(with pid: Int32) -> String {
        split(separator: "PID", omittingEmptySubsequences: false).joined(separator: String(pid))
    }
}
