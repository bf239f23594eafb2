import Foundation
import Glibc
import Testing
@testable import ProcWatchFleet

/// Connection strings, password files and service files read as libpq reads them (no server).
@Suite("Fleet connection strings and credentials")
struct FleetURLTests {
    @Test func parsesIPv6PercentEscapesAndQueryParameters() throws {
        let v6 = try FleetURL(parsing: "postgresql://reader@[fe80::1]:5433/fleet?sslmode=verify-full&sslrootcert=/etc/ca.pem", environment: [:])
        #expect(v6.host == "fe80::1" && v6.port == 5433 && v6.user == "reader" && v6.database == "fleet")
        #expect(v6.sslMode == .verifyFull && v6.sslRootCert == "/etc/ca.pem")
        #expect(v6.redacted == "postgresql://reader@[fe80::1]:5433/fleet")
        let escaped = try FleetURL(parsing: "postgres://us%40er:p%3Ass@db.example/pro%2Fwatch?application_name=a%20b", environment: [:])
        #expect(escaped.user == "us@er" && escaped.password == "p:ss" && escaped.database == "pro/watch" && escaped.applicationName == "a b")
        let socket = try FleetURL(parsing: "postgresql:///fleet?host=/run/postgresql&port=5444", environment: ["USER": "alice"])
        #expect(socket.socketDirectory == "/run/postgresql" && socket.host == nil && socket.port == 5444 && socket.user == "alice")
    }

    @Test func refusesWhatItCannotReadInOneLine() {
        let cases: [(String, String)] = [
            ("postgresql://h/db?sslmod=require",
             "bad PostgreSQL connection string postgresql://h/db?sslmod=require: unknown parameter sslmod (known: application_name, connect_timeout, dbname, host, port, service, sslmode, sslrootcert, user)"),
            ("postgresql://h:99999/db", "bad PostgreSQL connection string postgresql://h:99999/db: port 99999 is not a number from 1 to 65535"),
            ("postgresql://h:five/db", "bad PostgreSQL connection string postgresql://h:five/db: port five is not a number from 1 to 65535"),
            ("postgresql://[::1/db", "bad PostgreSQL connection string postgresql://[::1/db: an IPv6 address needs its closing ]"),
            ("postgresql://h/d%zz", "bad PostgreSQL connection string postgresql://h/d%zz: a % must be followed by two hex digits"),
            ("mysql://h/db", "bad PostgreSQL connection string mysql://h/db: it must start with postgresql://"),
            ("postgresql://h/db?sslmode=sometimes",
             "bad PostgreSQL connection string postgresql://h/db?sslmode=sometimes: sslmode sometimes is not one of disable, allow, prefer, require, verify-ca, verify-full"),
        ]
        for (text, message) in cases {
            #expect(throws: FleetError.self) { try FleetURL(parsing: text, environment: [:]) }
            do { _ = try FleetURL(parsing: text, environment: [:]) } catch { #expect(error.description == message) }
        }
    }

    @Test func takesWhatTheStringLeavesOutFromTheEnvironment() throws {
        let environment = ["PGHOST": "db.example", "PGPORT": "6543", "PGUSER": "alice", "PGDATABASE": "fleet",
                           "PGSSLMODE": "verify-full", "PGSSLROOTCERT": "/ca.pem", "PGCONNECT_TIMEOUT": "3"]
        let bare = try FleetURL(parsing: "postgresql://", environment: environment)
        #expect(bare.host == "db.example" && bare.port == 6543 && bare.user == "alice" && bare.database == "fleet")
        #expect(bare.sslMode == .verifyFull && bare.sslRootCert == "/ca.pem" && bare.connectTimeout == 3)
        // The string's own values win.
        let own = try FleetURL(parsing: "postgresql://bob@other:7000/db?sslmode=disable", environment: environment)
        #expect(own.host == "other" && own.port == 7000 && own.user == "bob" && own.database == "db" && own.sslMode == .disable)
    }

    @Test func passwordFileLinesMatchWithWildcardsAndEscapes() throws {
        let url = try FleetURL(parsing: "postgresql://reader@db.example:5432/fleet", environment: [:])
        let text = """
            # comment
            other.example:5432:fleet:reader:wrong
            db.example:5432:fleet:writer:wrong-user
            db.example:*:fleet:reader:pa\\:ss\\\\word
            *:*:*:*:fallback
            """
        #expect(FleetCredentials.passwordFileMatch(text, url: url) == "pa:ss\\word")
        let other = try FleetURL(parsing: "postgresql://someone@elsewhere/any", environment: [:])
        #expect(FleetCredentials.passwordFileMatch(text, url: other) == "fallback")
        let escapedHost = try FleetURL(parsing: "postgresql://u@[::1]:5432/d", environment: [:])
        #expect(FleetCredentials.passwordFileMatch("\\:\\:1:5432:d:u:v6\n", url: escapedHost) == "v6")
    }

    @Test func passwordFileReadableByOthersIsIgnoredWithAWarning() throws {
        let directory = try TemporaryDirectory()
        let file = directory.path + "/pgpass"
        try directory.write("*:*:*:*:secret\n", to: "pgpass", mode: 0o640)
        let url = try FleetURL(parsing: "postgresql://u@h/d", environment: [:])
        var warnings: [String] = []
        #expect(try FleetCredentials.password(for: url, origin: .commandLine, environment: ["PGPASSFILE": file]) { warnings.append($0) } == nil)
        #expect(warnings == ["the password file \(file) is ignored: it is readable by group or others (chmod 600 \(file))"])
        chmod(file, 0o600)
        #expect(try FleetCredentials.password(for: url, origin: .commandLine, environment: ["PGPASSFILE": file]) == "secret")
        // PGPASSWORD comes first; a password in a command-line string is refused.
        #expect(try FleetCredentials.password(for: url, origin: .commandLine, environment: ["PGPASSFILE": file, "PGPASSWORD": "env"]) == "env")
        let typed = try FleetURL(parsing: "postgresql://u:typed@h/d", environment: [:])
        #expect(throws: FleetError.passwordOnCommandLine(server: "postgresql://u@h:5432/d")) {
            try FleetCredentials.password(for: typed, origin: .commandLine, environment: [:])
        }
    }

    @Test func servicesComeFromTheUserFileThenTheSystemFile() throws {
        let directory = try TemporaryDirectory()
        try directory.write("""
            # the user's
            [fleet]
            host = db.example
            port=6000
            dbname=procwatch
            user=reader
            sslmode=verify-full
            sslrootcert=/etc/ca.pem

            [secret]
            host=db.example
            password=from-service
            """, to: "user.conf", mode: 0o600)
        try directory.write("[fleet]\nhost=system.example\n\n[central]\nhost=central.example\nport=7000\n", to: "pg_service.conf", mode: 0o644)
        let environment = ["PGSERVICEFILE": directory.path + "/user.conf", "PGSYSCONFDIR": directory.path, "PGPORT": "9999", "PGUSER": "env-user"]

        let fleet = try FleetURL(parsing: "postgresql://?service=fleet", environment: environment)
        #expect(fleet.host == "db.example" && fleet.port == 6000 && fleet.database == "procwatch" && fleet.user == "reader")
        #expect(fleet.sslMode == .verifyFull && fleet.sslRootCert == "/etc/ca.pem" && fleet.servicePassword == nil)
        // The string's own values win over the service's; the service's over the environment's.
        let own = try FleetURL(parsing: "postgresql://me@other/db?service=fleet", environment: environment)
        #expect(own.host == "other" && own.user == "me" && own.database == "db" && own.port == 6000)
        // PGSERVICE names it too; a service only in the system file is found there.
        let central = try FleetURL(parsing: "postgresql://", environment: environment.merging(["PGSERVICE": "central"]) { $1 })
        #expect(central.host == "central.example" && central.port == 7000 && central.user == "env-user")
        // A service's password is a file's: used, before PGPASSWORD.
        let secret = try FleetURL(parsing: "postgresql://?service=secret", environment: environment)
        #expect(try FleetCredentials.password(for: secret, origin: .commandLine, environment: ["PGPASSWORD": "env"]) == "from-service")
    }

    @Test func badServicesAreOneLine() throws {
        let directory = try TemporaryDirectory()
        try directory.write("[typo]\nhots=db.example\n", to: "user.conf", mode: 0o600)
        try directory.write("[open]\npassword=visible\n", to: "pg_service.conf", mode: 0o644)
        let environment = ["PGSERVICEFILE": directory.path + "/user.conf", "PGSYSCONFDIR": directory.path]
        let cases: [(String, FleetError)] = [
            ("postgresql://?service=none", .badURL("postgresql://?service=none", reason:
                "service none is not defined in \(directory.path)/user.conf or \(directory.path)/pg_service.conf")),
            ("postgresql://?service=typo", .badURL("postgresql://?service=typo", reason:
                "\(directory.path)/user.conf line 2: unknown parameter hots (known: application_name, connect_timeout, dbname, host, password, port, sslmode, sslrootcert, user)")),
            ("postgresql://?service=open", .exposedConfiguration(path: directory.path + "/pg_service.conf", mode: 0o644)),
        ]
        for (text, error) in cases {
            #expect(throws: error) { try FleetURL(parsing: text, environment: environment) }
        }
    }
}

/// A directory under /tmp, removed with everything in it when the value is released.
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/procwatch-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
        path = String(cString: made)
    }

    /// Writes `text` to `name` in it with `mode`.
    func write(_ text: String, to name: String, mode: mode_t) throws {
        try text.write(toFile: path + "/" + name, atomically: false, encoding: .utf8)
        chmod(path + "/" + name, mode)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
