#if canImport(Glibc)
import Glibc
#endif

/// Tells systemd how the daemon is doing (`Type=notify`): sd_notify(3) by hand, one datagram
/// to the socket `$NOTIFY_SOCKET` names, so the daemon needs no libsystemd. Under no
/// service manager (no `$NOTIFY_SOCKET`) there is no notifier and nothing to send.
///
/// The protocol: newline-separated `NAME=VALUE` assignments in one datagram to an
/// `AF_UNIX` socket whose path is absolute, or abstract when it starts with `@` (the `@`
/// stands for the leading NUL byte).
public struct SystemdNotifier: Sendable {
    /// The socket's path as `$NOTIFY_SOCKET` gave it (`/run/systemd/notify` or `@name`).
    public let socketPath: String

    /// A notifier for `socketPath`; throws when it is neither absolute nor abstract, or too
    /// long for `sockaddr_un`.
    public init(socketPath: String) throws(SystemdNotifierError) {
        let limit = MemoryLayout.size(ofValue: sockaddr_un().sun_path)
        guard socketPath.hasPrefix("/") || (socketPath.hasPrefix("@") && socketPath.utf8.count > 1),
              socketPath.utf8.count < limit else {
            throw SystemdNotifierError(operation: "NOTIFY_SOCKET=\(socketPath)", errno: EINVAL)
        }
        self.socketPath = socketPath
    }

    /// The notifier `$NOTIFY_SOCKET` asks for, or nil when it is unset or empty (the daemon
    /// was not started by systemd with `Type=notify`).
    public static func fromEnvironment() throws(SystemdNotifierError) -> SystemdNotifier? {
        guard let value = getenv("NOTIFY_SOCKET").map({ String(cString: $0) }), !value.isEmpty else { return nil }
        return try SystemdNotifier(socketPath: value)
    }

    /// `READY=1` (start-up done: systemd considers the unit started), with a `STATUS=` line.
    public func ready(status: String? = nil) throws(SystemdNotifierError) {
        try send(["READY=1"] + statusLine(status))
    }

    /// `RELOADING=1` with `MONOTONIC_USEC=` (the time the reload began, as systemd wants it
    /// for `Type=notify-reload`): sent on SIGHUP before re-reading the configuration; follow
    /// it with ``ready(status:)`` once the new settings apply.
    public func reloading(status: String? = nil) throws(SystemdNotifierError) {
        try send(["RELOADING=1", "MONOTONIC_USEC=\(Self.monotonicMicroseconds())"] + statusLine(status))
    }

    /// `STOPPING=1`: shutdown has begun (final commit, subscription release).
    public func stopping(status: String? = nil) throws(SystemdNotifierError) {
        try send(["STOPPING=1"] + statusLine(status))
    }

    /// `STATUS=…`: one line `systemctl status` shows (newlines become spaces).
    public func status(_ text: String) throws(SystemdNotifierError) {
        try send(statusLine(text))
    }

    private func statusLine(_ text: String?) -> [String] {
        text.map { ["STATUS=" + String($0.map { $0.isNewline ? " " : $0 })] } ?? []
    }

    /// Sends `assignments` as one datagram from a socket of its own (as sd_notify does: the
    /// messages are few, and no descriptor is held between them).
    public func send(_ assignments: [String]) throws(SystemdNotifierError) {
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw SystemdNotifierError(operation: "socket", errno: errno) }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var path = Array(socketPath.utf8)
        if path.first == UInt8(ascii: "@") { path[0] = 0 }  // abstract: a leading NUL, no terminator
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path) }
        // An abstract name's length is exactly its bytes; a path's includes its NUL.
        let length = MemoryLayout<sa_family_t>.size + path.count + (path.first == 0 ? 0 : 1)
        let message = Array(assignments.joined(separator: "\n").utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                message.withUnsafeBytes { bytes in
                    var result: Int
                    repeat {
                        result = sendto(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), socketAddress, socklen_t(length))
                    } while result < 0 && errno == EINTR
                    return result
                }
            }
        }
        guard sent == message.count else { throw SystemdNotifierError(operation: "sendto \(socketPath)", errno: sent < 0 ? errno : EMSGSIZE) }
    }

    /// CLOCK_MONOTONIC in microseconds, the clock systemd's `MONOTONIC_USEC` is on.
    static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
    }
}

/// A notification that could not be sent: the call and its errno. The daemon logs it and
/// goes on (systemd then times the start-up out, which says more than a crash would).
public struct SystemdNotifierError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What failed: `socket`, `sendto PATH`, or the bad `NOTIFY_SOCKET=…`.
    public var operation: String
    /// The errno it failed with.
    public var errno: Int32

    /// One line: the call and the errno's text.
    public var description: String { "systemd notification: \(operation): \(String(cString: strerror(errno)))" }
}
