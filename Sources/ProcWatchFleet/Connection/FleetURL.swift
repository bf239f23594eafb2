/// A PostgreSQL connection string, `postgresql://[user[:password]@][host][:port][/database][?key=value&…]`,
/// as libpq reads it, with libpq's environment defaults (`PGHOST`, `PGPORT`, `PGUSER`,
/// `PGDATABASE`, `PGSSLMODE`, `PGSSLROOTCERT`) for what it leaves out.
///
/// Query keys understood: `sslmode`, `sslrootcert`, `host` (a Unix socket directory when it
/// starts with `/`), `port`, `user`, `dbname`, `application_name`, `connect_timeout`,
/// `service`. Any other key is an error, not ignored: a misspelled `sslmode` must not
/// silently connect in plain text.
public struct FleetURL: Sendable, Equatable {
    /// The text as given.
    public var text: String
    /// The server's host name or address (nil with ``socketDirectory``).
    public var host: String?
    /// The directory of the server's Unix socket (`?host=/run/postgresql`).
    public var socketDirectory: String?
    /// The port (also the Unix socket's `.s.PGSQL.PORT` suffix).
    public var port: Int
    /// The user name.
    public var user: String
    /// The password written in the connection string, if any (see ``FleetCredentials``).
    public var password: String?
    /// The password of the connection's `pg_service.conf` service, if any (a file: unlike
    /// ``password``, allowed whatever the string came from).
    public var servicePassword: String?
    /// The database name.
    public var database: String
    /// TLS use and checks.
    public var sslMode: SSLMode
    /// The CA certificate file for `verify-ca`/`verify-full`.
    public var sslRootCert: String?
    /// `application_name` (default `procwatch`).
    public var applicationName: String
    /// Seconds to wait for the connection (default 10).
    public var connectTimeout: Int
    /// A service of `pg_service.conf` to take the unset parameters from.
    public var service: String?

    /// Whether `text` looks like a PostgreSQL connection string (and not a file name).
    public static func isPostgreSQL(_ text: String) -> Bool {
        text.hasPrefix("postgresql://") || text.hasPrefix("postgres://")
    }

    /// Parses `text`; `environment` gives libpq's defaults (the process environment by default).
    public init(parsing text: String, environment: [String: String] = FleetEnvironment.current) throws(FleetError) {
        self.text = text
        let scheme: String
        if text.hasPrefix("postgresql://") { scheme = "postgresql://" } else if text.hasPrefix("postgres://") { scheme = "postgres://" } else {
            throw .badURL(text, reason: "it must start with postgresql://")
        }
        var rest = Substring(text.dropFirst(scheme.count))
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var userInfo: Substring?
        if let at = rest.lastIndex(of: "@") {
            userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
        }
        var values: [String: String] = [:]
        if let userInfo {
            if let colon = userInfo.firstIndex(of: ":") {
                values["user"] = try Self.decode(userInfo[..<colon], in: text)
                values["password"] = try Self.decode(userInfo[userInfo.index(after: colon)...], in: text)
            } else {
                values["user"] = try Self.decode(userInfo, in: text)
            }
        }
        // The host: a name, an IPv4 address or a bracketed IPv6 address, then `:port`.
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw .badURL(text, reason: "an IPv6 address needs its closing ]") }
            values["host"] = String(rest[rest.index(after: rest.startIndex)..<close])
            rest = rest[rest.index(after: close)...]
            if rest.hasPrefix(":") { values["port"] = String(rest.dropFirst()) } else if !rest.isEmpty {
                throw .badURL(text, reason: "unexpected \(rest) after the IPv6 address")
            }
        } else if let colon = rest.lastIndex(of: ":") {
            values["host"] = try Self.decode(rest[..<colon], in: text)
            values["port"] = String(rest[rest.index(after: colon)...])
        } else if !rest.isEmpty {
            values["host"] = try Self.decode(rest, in: text)
        }
        if !path.isEmpty { values["dbname"] = try Self.decode(path, in: text) }
        if values["host"]?.isEmpty == true { values["host"] = nil }
        for pair in query.split(separator: "&") where !pair.isEmpty {
            guard let equals = pair.firstIndex(of: "=") else { throw .badURL(text, reason: "query parameter \(pair) has no value") }
            let key = String(pair[..<equals])
            guard Self.queryKeys.contains(key) else {
                throw .badURL(text, reason: "unknown parameter \(key) (known: \(Self.queryKeys.sorted().joined(separator: ", ")))")
            }
            values[key] = try Self.decode(pair[pair.index(after: equals)...], in: text)
        }
        if values["password"] != nil, values["password"]?.isEmpty == true { values["password"] = nil }
        password = values["password"]
        // A service's values fill in what the string leaves out (libpq: before the environment).
        if let name = values["service"] ?? environment["PGSERVICE"].flatMap({ $0.isEmpty ? nil : $0 }) {
            let defined = try ServiceFile.values(of: name, environment: environment, for: text)
            values.merge(defined) { own, _ in own }
            servicePassword = password == nil ? defined["password"].flatMap { $0.isEmpty ? nil : $0 } : nil
        } else {
            servicePassword = nil
        }

        // What the string leaves out comes from libpq's environment variables.
        func value(_ key: String, _ variable: String) -> String? {
            values[key] ?? environment[variable].flatMap { $0.isEmpty ? nil : $0 }
        }
        let hostValue = value("host", "PGHOST")
        if let hostValue, hostValue.hasPrefix("/") {
            socketDirectory = hostValue
            host = nil
        } else {
            host = hostValue ?? "localhost"
            socketDirectory = nil
        }
        let portText = value("port", "PGPORT") ?? "5432"
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw .badURL(text, reason: "port \(portText) is not a number from 1 to 65535")
        }
        self.port = port
        user = value("user", "PGUSER") ?? environment["USER"] ?? "root"
        database = value("dbname", "PGDATABASE") ?? user
        let modeText = value("sslmode", "PGSSLMODE") ?? "prefer"
        guard let mode = SSLMode(rawValue: modeText) else {
            throw .badURL(text, reason: "sslmode \(modeText) is not one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        sslMode = mode
        sslRootCert = value("sslrootcert", "PGSSLROOTCERT")
        applicationName = values["application_name"] ?? "procwatch"
        let timeoutText = value("connect_timeout", "PGCONNECT_TIMEOUT") ?? "10"
        guard let timeout = Int(timeoutText), timeout > 0 else {
            throw .badURL(text, reason: "connect_timeout \(timeoutText) is not a positive number of seconds")
        }
        connectTimeout = timeout
        service = value("service", "PGSERVICE")
    }

    /// The server as messages name it: `postgresql://user@host:port/database`, never with a password.
    public var redacted: String {
        let place = host.map { $0.contains(":") ? "[\($0)]" : $0 } ?? ""
        let socket = socketDirectory.map { "?host=\($0)" } ?? ""
        return "postgresql://\(user)@\(place):\(port)/\(database)\(socket)"
    }

    static let queryKeys: Set<String> = [
        "sslmode", "sslrootcert", "host", "port", "user", "dbname", "application_name", "connect_timeout", "service",
    ]

    /// Percent-decoding (`%2F` → `/`), as URLs need for `@`, `:` and `/` in names.
    private static func decode(_ part: Substring, in text: String) throws(FleetError) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(part.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next(), let low = iterator.next(),
                  let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else {
                throw .badURL(text, reason: "a % must be followed by two hex digits")
            }
            bytes.append(value)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
