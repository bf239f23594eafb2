#if canImport(Glibc)
import Glibc
#endif

/// Where the Prometheus endpoint listens: `ADDRESS:PORT` with a numeric IPv4 or IPv6
/// address (`[::1]:9464`) or `localhost`. Names other than localhost are refused rather
/// than resolved, so the daemon never waits for DNS at start. The metrics carry no
/// authentication: a loopback address keeps them on this host.
public struct MetricsEndpoint: Sendable, Hashable {
    /// The address without brackets: `127.0.0.1`, `::1`, `localhost`.
    public var host: String
    /// The TCP port, 1–65535.
    public var port: Int

    /// An endpoint as it is (unchecked: ``DaemonSettings`` holds checked ones).
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `ADDRESS:PORT`.
    init(parsing text: String) throws(SettingValueProblem) {
        let example = "(example: 127.0.0.1:9464)"
        guard let colon = text.lastIndex(of: ":") else {
            throw SettingValueProblem("\"\(text)\" is not ADDRESS:PORT \(example)")
        }
        var host = String(text[..<colon])
        let portText = text[text.index(after: colon)...]
        if host.hasPrefix("["), host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        } else if host.contains(":") {
            throw SettingValueProblem("\"\(text)\": an IPv6 address goes in brackets (example: [::1]:9464)")
        }
        guard let port = Int(portText), (1...65_535).contains(port), portText.allSatisfy(\.isASCII) else {
            throw SettingValueProblem("\"\(text)\": the port must be a number from 1 to 65535 \(example)")
        }
        guard host == "localhost" || Self.isNumericAddress(host) else {
            throw SettingValueProblem("\"\(text)\": \"\(host)\" is not an IP address or localhost \(example)")
        }
        self.host = host
        self.port = port
    }

    /// Whether `host` is an IPv4 or IPv6 address in numeric form (inet_pton accepts it).
    private static func isNumericAddress(_ host: String) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16)
        return inet_pton(AF_INET, host, &buffer) == 1 || inet_pton(AF_INET6, host, &buffer) == 1
    }
}
