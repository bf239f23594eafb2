#if canImport(Glibc)
import Glibc
#endif

/// Why the client socket could not be put in place. Each description is one line naming
/// the path and the reason; the daemon prints it and exits with status 64.
public enum ClientSocketError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Another process listens on the path (a connect() there succeeded).
    case inUse(path: String)
    /// Something other than a socket is at the path; it is left alone.
    case notASocket(path: String)
    /// The path does not fit a Unix socket address (107 bytes).
    case pathTooLong(path: String)
    /// The parent directory could not be created.
    case directory(path: String, reason: String)
    /// The path could not be examined, or a stale socket there could not be removed.
    case stalePath(path: String, reason: String)
    /// bind() or listen() failed.
    case bind(path: String, reason: String)
    /// The socket's mode or group could not be set.
    case permissions(path: String, reason: String)

    public var description: String {
        switch self {
        case .inUse(let path):
            "socket \(path): another process is listening there (is a daemon already running?)"
        case .notASocket(let path):
            "socket \(path): the path exists and is not a socket; remove it or choose another --socket"
        case .pathTooLong(let path):
            "socket \(path): the path is longer than a Unix socket address allows (107 bytes)"
        case .directory(let path, let reason):
            "socket \(path): cannot create its directory: \(reason)"
        case .stalePath(let path, let reason):
            "socket \(path): cannot replace what is there: \(reason)"
        case .bind(let path, let reason):
            "socket \(path): cannot listen: \(reason)"
        case .permissions(let path, let reason):
            "socket \(path): cannot set its mode or group: \(reason)"
        }
    }

    /// The C library's text for an errno value.
    static func reason(_ code: Int32) -> String { String(cString: strerror(code)) }
}
