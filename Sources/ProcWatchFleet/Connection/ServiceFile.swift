#if canImport(Glibc)
import Glibc
#endif

/// libpq's connection service file (`pg_service.conf`): INI sections named for services,
/// each with `key=value` lines of connection parameters, `#` comments.
///
/// A service is looked up as libpq does: first in the user's file (`PGSERVICEFILE`, default
/// `~/.pg_service.conf`), then in the system's (`PGSYSCONFDIR/pg_service.conf`, default
/// `/etc/postgresql-common/pg_service.conf`, where Debian's libpq looks); the first file
/// with a section of that name gives all its values. The connection string's own values
/// win over the service's, which win over the `PG*` environment variables.
enum ServiceFile {
    /// The keys a section may hold (libpq's other keys are refused, not ignored, as in a URL).
    static let keys: Set<String> = ["host", "port", "dbname", "user", "password", "sslmode", "sslrootcert", "connect_timeout", "application_name"]

    /// The files searched for a service, in order.
    static func paths(environment: [String: String]) -> [String] {
        var paths: [String] = []
        if let file = environment["PGSERVICEFILE"], !file.isEmpty {
            paths.append(file)
        } else if let home = environment["HOME"], !home.isEmpty {
            paths.append(home + "/.pg_service.conf")
        }
        paths.append((environment["PGSYSCONFDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/etc/postgresql-common") + "/pg_service.conf")
        return paths
    }

    /// The parameters of `service` from the first file that defines it. Throws
    /// ``FleetError/badURL(_:reason:)`` (for `text`, the connection string) when no file
    /// defines it or its section is malformed, and ``FleetError/exposedConfiguration(path:mode:)``
    /// when the section holds a password in a file readable by group or others.
    static func values(of service: String, environment: [String: String], for text: String) throws(FleetError) -> [String: String] {
        let searched = paths(environment: environment)
        for path in searched {
            guard let contents = FleetCredentials.readText(path) else { continue }
            guard let values = try section(service, in: contents, path: path, for: text) else { continue }
            if values["password"] != nil {
                var status = stat()
                if stat(path, &status) == 0, status.st_mode & 0o077 != 0 {
                    throw .exposedConfiguration(path: path, mode: UInt32(status.st_mode & 0o7777))
                }
            }
            return values
        }
        throw .badURL(text, reason: "service \(service) is not defined in \(searched.joined(separator: " or "))")
    }

    /// The `key=value` pairs of section `[name]`, nil when the file has no such section.
    static func section(_ name: String, in contents: String, path: String, for text: String) throws(FleetError) -> [String: String]? {
        var current: String?
        var found: [String: String]?
        for (index, raw) in contents.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingWhitespace
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else { throw .badURL(text, reason: "\(path) line \(index + 1): a section name needs its closing ]") }
                if found != nil { return found }
                current = String(line.dropFirst().dropLast())
                if current == name { found = [:] }
                continue
            }
            guard current == name else { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw .badURL(text, reason: "\(path) line \(index + 1): expected key=value")
            }
            let key = String(line[..<equals].trimmingWhitespace)
            guard keys.contains(key) else {
                throw .badURL(text, reason: "\(path) line \(index + 1): unknown parameter \(key) (known: \(keys.sorted().joined(separator: ", ")))")
            }
            found?[key] = String(line[line.index(after: equals)...].trimmingWhitespace)
        }
        return found
    }
}

extension Substring {
    /// Without leading and trailing spaces, tabs and carriage returns.
    fileprivate var trimmingWhitespace: Substring {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let first = firstIndex(where: { !blank($0) }), let last = lastIndex(where: { !blank($0) }) else { return "" }
        return self[first...last]
    }
}
