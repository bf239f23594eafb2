import Foundation
import Glibc

/// HTTP/1.1 over a plain TCP socket to a loopback port: the request exactly as written,
/// the response exactly as sent (no client library between the test and the bytes).
enum RawHTTP {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// A response split at its blank line.
    struct Response: Equatable {
        /// The status line, e.g. `HTTP/1.1 200 OK`.
        var status: String
        /// The header lines in the order sent.
        var headers: [String]
        var body: String
    }

    /// One TCP connection to a loopback address (receives time out after 5 s).
    final class Connection {
        let fd: Int32
        private var pending: [UInt8] = []

        init(host: String = "127.0.0.1", port: Int) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            inet_pton(AF_INET, host, &address.sin_addr)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else {
                let code = errno
                close(fd)
                throw Failure(description: "connect \(host):\(port): errno \(code)")
            }
        }

        deinit { close(fd) }

        func send(_ request: String) throws {
            let bytes = Array(request.utf8)
            var sent = 0
            while sent < bytes.count {
                let count = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard count > 0 else { throw Failure(description: "send: errno \(errno)") }
                sent += count
            }
        }

        /// Reads more bytes; false at the end of the stream.
        private func fill() throws -> Bool {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = recv(fd, &buffer, buffer.count, 0)
                if count > 0 { pending += buffer[..<count]; return true }
                if count == 0 { return false }
                guard errno == EINTR else { throw Failure(description: "recv: errno \(errno) with \(pending.count) bytes pending") }
            }
        }

        /// One response: its head, then as many body bytes as its Content-Length says.
        func receiveResponse() throws -> Response {
            let separator: [UInt8] = Array("\r\n\r\n".utf8)
            var headEnd: Int? = nil
            while headEnd == nil {
                headEnd = pending.indices.dropLast(3).first { Array(pending[$0..<$0 + 4]) == separator }
                if headEnd == nil, try !fill() { throw Failure(description: "closed before a response head: \(pending.count) bytes") }
            }
            let head = String(decoding: pending[..<headEnd!], as: UTF8.self).components(separatedBy: "\r\n")
            let bodyStart = headEnd! + 4
            // Without a Content-Length (an HTTP/1.0 answer), the body runs to the end.
            var declared = head.dropFirst().compactMap { line -> Int? in
                let parts = line.split(separator: ":", maxSplits: 1)
                guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
                return Int(parts[1].trimmingCharacters(in: .whitespaces))
            }.first
            if declared == nil {
                while try fill() {}
                declared = pending.count - bodyStart
            }
            let length = declared!
            while pending.count < bodyStart + length {
                if try !fill() { throw Failure(description: "closed in a body of \(length) bytes") }
            }
            let body = String(decoding: pending[bodyStart..<bodyStart + length], as: UTF8.self)
            pending.removeFirst(bodyStart + length)
            return Response(status: head[0], headers: Array(head.dropFirst()), body: body)
        }

        /// Whether the server closed the connection (with nothing more sent) within 5 s.
        func receivedEnd() throws -> Bool {
            do { return try !fill() && pending.isEmpty } catch { return false }
        }
    }

    /// `METHOD path` with `Connection: close`: its response, after which the server must
    /// close. `version` 1.0 keeps a server from answering in chunks (read to the end instead).
    static func request(port: Int, _ method: String = "GET", _ path: String, version: String = "1.1") throws -> Response {
        let connection = try Connection(port: port)
        try connection.send("\(method) \(path) HTTP/\(version)\r\nHost: 127.0.0.1:\(port)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        let response = try connection.receiveResponse()
        guard try connection.receivedEnd() else { throw Failure(description: "the server kept the connection open or sent more") }
        return response
    }
}
