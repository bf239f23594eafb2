#if canImport(Glibc)
import Glibc
#endif

/// Where a connection's password comes from, in libpq's order: the connection string
/// (only where it is not visible to others: a configuration file of mode 0600), then its
/// `pg_service.conf` service (``ServiceFile``), then
/// `PGPASSWORD`, then the password file (`PGPASSFILE`, default `~/.pgpass`), whose lines
/// are `host:port:database:user:password` with `*` matching anything and `\` escaping
/// `:` and `\`. Like libpq, a password file readable by group or others is ignored, and
/// said so.
public enum FleetCredentials {
    /// Where the connection string came from.
    public enum Origin: Sendable, Equatable {
        /// Typed on the command line: a password in it is refused (``FleetError/passwordOnCommandLine(server:)``).
        case commandLine
        /// Read from a configuration file, whose mode must then be 0600 (checked by its reader).
        case configurationFile
    }

    /// The password for `url`, or nil when none is configured anywhere (the server may
    /// not ask for one). `warn` is told once about a password file that was ignored.
    public static func password(for url: FleetURL, origin: Origin, environment: [String: String] = FleetEnvironment.current,
                                warn: (String) -> Void = { _ in }) throws(FleetError) -> String? {
        if let password = url.password {
            guard origin == .configurationFile else { throw .passwordOnCommandLine(server: url.redacted) }
            return password
        }
        if let password = url.servicePassword { return password }
        if let password = environment["PGPASSWORD"], !password.isEmpty { return password }
        guard let file = environment["PGPASSFILE"] ?? environment["HOME"].map({ "\($0)/.pgpass" }) else { return nil }
        var status = stat()
        guard stat(file, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { return nil }
        guard status.st_mode & 0o077 == 0 else {
            warn("the password file \(file) is ignored: it is readable by group or others (chmod 600 \(file))")
            return nil
        }
        guard let text = readText(file) else { return nil }
        return passwordFileMatch(text, url: url)
    }

    /// The password of the first line of a password file that matches `url`.
    static func passwordFileMatch(_ text: String, url: FleetURL) -> String? {
        let host = url.socketDirectory == nil ? (url.host ?? "localhost") : "localhost"
        let wanted = [host, String(url.port), url.database, url.user]
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) where !line.hasPrefix("#") {
            let fields = splitEscaped(line)
            guard fields.count == 5 else { continue }
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        return nil
    }

    /// A password-file line's fields: split at unescaped `:`, `\x` read as `x`.
    private static func splitEscaped(_ line: Substring) -> [String] {
        var fields: [String] = []
        var field = ""
        var escaped = false
        for character in line {
            if escaped {
                field.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == ":" && fields.count < 4 {
                fields.append(field)
                field = ""
            } else {
                field.append(character)
            }
        }
        fields.append(field)
        return fields
    }

    /// A small text file's contents (nil when it cannot be read).
    static func readText(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
