import Glibc

/// Where the metrics endpoint listens: a loopback address and a port, parsed from the
/// `--metrics ADDRESS:PORT` setting.
public struct MetricsAddress: Sendable, Equatable, CustomStringConvertible {
    /// The address to bind, as a literal (`127.0.0.1`, `::1`; `localhost` is `127.0.0.1`).
    public var host: String
    /// The port; 0 lets the kernel pick a free one (see ``MetricsEndpoint/port``).
    public var port: Int

    /// Parses `127.0.0.1:9464`, `[::1]:9464` or `localhost:9464`, and refuses anything but
    /// a loopback address (127.0.0.0/8, ::1, localhost): the metrics name every program
    /// that runs on the host, and the endpoint has no authentication.
    public init(parsing text: String) throws(MetricsEndpointError) {
        guard let colon = text.lastIndex(of: ":"),
              let port = Self.port(text[text.index(after: colon)...]) else { throw .malformedAddress(text) }
        var host = String(text[..<colon])
        let bracketed = host.hasPrefix("[") && host.hasSuffix("]") && host.count >= 2
        if bracketed { host = String(host.dropFirst().dropLast()) }
        switch Self.family(of: host) {
        case AF_INET where !bracketed:
            guard host.split(separator: ".").first == "127" else { throw .notLoopback(text) }
        case AF_INET6 where bracketed:
            guard Self.isIPv6Loopback(host) else { throw .notLoopback(text) }
        case nil where !bracketed && host.lowercased() == "localhost":
            // Resolved here, not by the resolver: /etc/hosts may name localhost with ::1
            // or a non-loopback address, and the endpoint must be where it says.
            host = "127.0.0.1"
        case nil where !bracketed && !host.isEmpty && !host.contains(":"):
            throw .notLoopback(text)  // a host name: not ours to resolve, and not loopback by name
        default:
            throw .malformedAddress(text)
        }
        self.host = host
        self.port = port
    }

    /// `127.0.0.1:9464`, `[::1]:9464`.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// A decimal port from 0 to 65535 (digits only: no sign, no spaces).
    private static func port(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 5, text.allSatisfy({ $0.isASCII && $0.isNumber }),
              let port = Int(text), port <= 65535 else { return nil }
        return port
    }

    /// AF_INET or AF_INET6 for an address literal, nil for anything else.
    private static func family(of host: String) -> Int32? {
        var bytes = (UInt64(0), UInt64(0))  // room for an in6_addr
        return withUnsafeMutableBytes(of: &bytes) { buffer in
            if inet_pton(AF_INET, host, buffer.baseAddress) == 1 { return AF_INET }
            if inet_pton(AF_INET6, host, buffer.baseAddress) == 1 { return AF_INET6 }
            return nil
        }
    }

    /// Whether an IPv6 literal is ::1 (in any spelling: `0:0:0:0:0:0:0:1` too).
    private static func isIPv6Loopback(_ host: String) -> Bool {
        var address = in6_addr()
        guard inet_pton(AF_INET6, host, &address) == 1 else { return false }
        return withUnsafeBytes(of: &address) { Array($0) } == [UInt8](repeating: 0, count: 15) + [1]
    }
}
