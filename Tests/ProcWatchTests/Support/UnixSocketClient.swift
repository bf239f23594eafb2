import Glibc

/// A raw Unix-socket client for the daemon's protocol tests: connect, send bytes, read
/// lines with a deadline, close — no NIO, so the test plays the client exactly.
final class UnixSocketClient {
    private(set) var descriptor: Int32
    private var received: [UInt8] = []

    /// Connects to `path`; nil (with errno) when connect() fails.
    init?(path: String, receiveBuffer: Int? = nil) {
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        if var size = receiveBuffer.map(Int32.init) {
            setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let saved = errno
            Glibc.close(descriptor)
            // A class's init that fails once fully initialized still runs deinit: without
            // this it would close the number again — by then maybe another test's pipe.
            descriptor = -1
            errno = saved
            return nil
        }
    }

    deinit { if descriptor >= 0 { Glibc.close(descriptor) } }

    /// Writes every byte (MSG_NOSIGNAL: a closed peer is an error, not SIGPIPE).
    @discardableResult
    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written < 0 { if errno == EINTR { continue }; return false }
            offset += written
        }
        return true
    }

    /// The next line without its newline, or nil when the peer closed or `timeout` passed.
    func readLine(timeout: Duration = .seconds(5)) -> String? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let newline = received.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: received[..<newline], as: UTF8.self)
                received.removeSubrange(...newline)
                return line
            }
            let left = deadline - ContinuousClock.now
            guard left > .zero, fill(timeoutMilliseconds: Int32(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1))
            else { return nil }
        }
    }

    /// `count` lines, or as many as came before the peer closed or `timeout` passed.
    func readLines(_ count: Int, timeout: Duration = .seconds(10)) -> [String] {
        let deadline = ContinuousClock.now + timeout
        var lines: [String] = []
        while lines.count < count, let line = readLine(timeout: deadline - ContinuousClock.now) { lines.append(line) }
        return lines
    }

    /// Whether the peer closed the connection (EOF within `timeout`, nothing more to read).
    func isClosedByPeer(timeout: Duration = .seconds(5)) -> Bool {
        guard received.isEmpty else { return false }
        var pollDescriptor = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&pollDescriptor, 1, Int32(timeout.components.seconds * 1000)) == 1 else { return false }
        var byte: UInt8 = 0
        return recv(descriptor, &byte, 1, 0) == 0
    }

    /// Ends the sending side (the daemon sees end of input; this side still reads).
    func shutdownSending() { shutdown(descriptor, Int32(SHUT_WR)) }

    /// Closes the socket now.
    func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }

    private func fill(timeoutMilliseconds: Int32) -> Bool {
        var pollDescriptor = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&pollDescriptor, 1, timeoutMilliseconds) == 1 else { return false }
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return false }
        received += chunk[..<count]
        return true
    }
}
