#if canImport(Glibc)
import Glibc
#endif
import ProcWatch

/// A listening socket made close-on-exec, handed to SwiftNIO (`withBoundSocket`): NIO's own
/// `bind` makes its sockets without `SOCK_CLOEXEC`, so every process started while the
/// daemon (or a test holding an endpoint) runs would inherit the listener and keep it open
/// after the daemon closed it.
enum ListeningSocket {
    /// A TCP socket listening on `host:port` (a numeric IPv4 or IPv6 address).
    static func tcp(host: String, port: Int, backlog: Int32) throws(ListeningSocketError) -> Int32 {
        var v4 = sockaddr_in()
        var v6 = sockaddr_in6()
        let family: Int32
        if inet_pton(AF_INET, host, &v4.sin_addr) == 1 {
            family = AF_INET
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = in_port_t(UInt16(port).bigEndian)
        } else if inet_pton(AF_INET6, host, &v6.sin6_addr) == 1 {
            family = AF_INET6
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = in_port_t(UInt16(port).bigEndian)
        } else {
            throw ListeningSocketError(call: "inet_pton", errno: EINVAL)
        }
        let fd = try open(family: family)
        var on: Int32 = 1
        // A restarted daemon binds again at once, past connections left in TIME_WAIT.
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        let bound = family == AF_INET
            ? withUnsafePointer(to: &v4) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            : withUnsafePointer(to: &v6) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        try finish(fd, bound: bound, backlog: backlog)
        return fd
    }

    /// A Unix stream socket listening at `path` (which must not exist).
    static func unix(path: String, backlog: Int32) throws(ListeningSocketError) -> Int32 {
        guard var address = unixAddress(path) else { throw ListeningSocketError(call: "bind", errno: ENAMETOOLONG) }
        let fd = try open(family: AF_UNIX)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try finish(fd, bound: bound, backlog: backlog)
        return fd
    }

    /// The address of the Unix socket at `path` (NUL-terminated), or nil when the path is
    /// too long for one.
    static func unixAddress(_ path: String) -> sockaddr_un? {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        return address
    }

    private static func open(family: Int32) throws(ListeningSocketError) -> Int32 {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw ListeningSocketError(call: "socket", errno: errno) }
        return fd
    }

    private static func finish(_ fd: Int32, bound: Int32, backlog: Int32) throws(ListeningSocketError) {
        guard bound == 0 else {
            let error = ListeningSocketError(call: "bind", errno: errno)
            close(fd)
            throw error
        }
        guard listen(fd, backlog) == 0 else {
            let error = ListeningSocketError(call: "listen", errno: errno)
            close(fd)
            throw error
        }
    }
}

/// A listening socket that could not be made: the call and its errno.
struct ListeningSocketError: Error, CustomStringConvertible {
    var call: String
    var errno: Int32

    /// The system's words and the errno's name, e.g. `Address already in use (EADDRINUSE)`.
    var description: String { "\(String(cString: strerror(errno))) (\(ExecFailure.name(ofErrno: errno)))" }
}
