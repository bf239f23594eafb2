/// Why the metrics endpoint cannot serve. Each description is one line naming the address
/// and the reason; the daemon prints it and exits with status 64.
public enum MetricsEndpointError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The address is not `ADDRESS:PORT` (an IPv4 address, `[IPv6]` or `localhost`, and a
    /// port from 0 to 65535).
    case malformedAddress(String)
    /// The address is not a loopback address: metrics are served on 127.0.0.0/8, ::1 and
    /// localhost only, since they name the programs that run on the host.
    case notLoopback(String)
    /// Listening on the address failed (`bind`/`listen`): `reason` is the system's.
    case cannotListen(address: String, reason: String)

    public var description: String {
        switch self {
        case .malformedAddress(let text):
            "metrics address '\(text)' is not ADDRESS:PORT: expected an IPv4 address, [IPv6 address] or localhost, a colon and a port from 0 to 65535 (e.g. 127.0.0.1:9464)"
        case .notLoopback(let text):
            "metrics address \(text) is not a loopback address: metrics are served on 127.0.0.0/8, [::1] or localhost only (put a proxy in front to publish them)"
        case .cannotListen(let address, let reason):
            "cannot serve metrics on \(address): \(reason)"
        }
    }
}
