import ProcWatch
#if canImport(Glibc)
import Glibc
#endif

/// Why talking to the daemon failed: one line for the user, and the exit status it ends with
/// (2 when there is no usable daemon or it refused; 1 when it closed the connection).
package struct DaemonClientError: Error, Equatable, CustomStringConvertible {
    package var description: String
    package var exitStatus: Int32

    package init(_ description: String, exitStatus: Int32 = 2) {
        self.description = description
        self.exitStatus = exitStatus
    }

    /// The daemon ended the stream (or the connection broke) while events were expected.
    static let closed = DaemonClientError("the daemon closed the connection", exitStatus: 1)
}

/// One Unix stream socket to `procwatch daemon`, read as lines (docs/daemon-protocol.md).
final class DaemonConnection: @unchecked Sendable {
    // @unchecked: the lines are read by one thread at a time (the handshake, then the
    // reader thread); `interrupt` only calls shutdown(2), which is safe from any thread.
    let path: String
    private let descriptor: Int32
    private var buffer: [UInt8] = []
    private var scanned = 0

    /// Connects to the socket at `path`.
    init(path: String) throws(DaemonClientError) {
        self.path = path
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else { throw DaemonClientError("--connect \(path): a socket path is at most \(capacity - 1) bytes") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw DaemonClientError("cannot open a socket: \(String(cString: strerror(errno)))") }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            switch code {
            case ENOENT: throw DaemonClientError("no procwatch daemon at \(path): no such socket")
            case ECONNREFUSED: throw DaemonClientError("no procwatch daemon at \(path): the connection was refused")
            default: throw DaemonClientError("cannot connect to \(path): \(String(cString: strerror(code)))")
            }
        }
        descriptor = fd
    }

    deinit { close(descriptor) }

    /// Sends one line (the newline is added).
    func send(_ line: String) throws(DaemonClientError) {
        let bytes = Array(line.utf8) + [UInt8(ascii: "\n")]
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno == EINTR { continue }
                throw DaemonClientError.closed
            }
            offset += written
        }
    }

    /// The next line without its newline; nil at the end of the stream. With a `timeout`
    /// (seconds), fails once that long passed without a whole line.
    func readLine(timeout: Double? = nil, waitingFor what: @autoclosure () -> String = "a line") throws(DaemonClientError) -> [UInt8]? {
        let deadline = timeout.map { Clocks.monotonicSeconds() + $0 }
        while true {
            if let newline = buffer[scanned...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                scanned = 0
                return line
            }
            scanned = buffer.count
            guard buffer.count <= JSONValue.maximumLength else {
                throw DaemonClientError("the daemon at \(path) sent a line longer than \(JSONValue.maximumLength) bytes")
            }
            if let deadline {
                var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                let left = deadline - Clocks.monotonicSeconds()
                guard left > 0 else { throw DaemonClientError("the daemon at \(path) sent no \(what()) within \(Int(timeout!)) s") }
                let ready = poll(&poller, 1, Int32((left * 1000).rounded(.up)))
                if ready < 0, errno == EINTR { continue }
                if ready == 0 { continue }
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = recv(descriptor, &chunk, chunk.count, 0)
            if count < 0 {
                if errno == EINTR { continue }
                return nil  // ECONNRESET and the like: the daemon is gone
            }
            if count == 0 {
                // A last line without its newline is cut short: not a line.
                return nil
            }
            buffer.append(contentsOf: chunk[..<count])
        }
    }

    /// Whether a whole line is already buffered (the reader flushes output before blocking).
    var hasBufferedLine: Bool { buffer[scanned...].contains(UInt8(ascii: "\n")) }

    /// Wakes a blocked ``readLine(timeout:waitingFor:)``, which then returns nil (a stop).
    func interrupt() { shutdown(descriptor, Int32(SHUT_RDWR)) }
}
