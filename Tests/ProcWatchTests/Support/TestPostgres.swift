import Foundation
import Glibc

/// A real PostgreSQL (Debian's `postgresql`, 15) run by a test: its own data and socket
/// directory under /tmp, owned by the `postgres` user, listening on a free TCP port on
/// every address (the network-namespace hosts reach it through their veth) and on a Unix
/// socket. Local socket connections are trusted (the harness's own `psql`); TCP
/// connections need a password (scram-sha-256).
///
/// ```swift
/// try await TestPostgres.with { server in
///     let url = server.url(database: try server.createDatabase())
///     …
/// }
/// ```
///
/// The server is stopped (immediate mode) and its directory removed on every way out of
/// ``with(_:)``; one left by a killed test process is stopped by the next ``with(_:)``.
final class TestPostgres: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The server binaries' directory, when installed (`scripts/test` installs them).
    static let binaries: String? = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql"))?
        .sorted().last.map { "/usr/lib/postgresql/\($0)/bin" }
        .flatMap { FileManager.default.isExecutableFile(atPath: $0 + "/initdb") ? $0 : nil }

    /// Whether a test can run one: the binaries are there and we are root (to run them as `postgres`).
    static var isAvailable: Bool { binaries != nil && geteuid() == 0 }

    /// The role the tests connect as over TCP, and its password.
    static let user = "procwatch"
    static let password = "procwatch-test-password"

    /// TLS for a server (`ssl = on`): a certificate made by `openssl` for the test, signed by
    /// a test CA (``caPath``), naming the server as `names` (subjectAltName) says.
    struct TLS {
        /// The certificate's subjectAltName: the names a client may connect by.
        var names = "DNS:localhost,IP:127.0.0.1"
    }

    let directory: String
    let port: Int
    private let bin: String
    private let tls: TLS?
    private var databases = 0

    private init(directory: String, port: Int, bin: String, tls: TLS? = nil) {
        self.directory = directory
        self.port = port
        self.bin = bin
        self.tls = tls
    }

    /// The test CA's certificate (with ``TLS``), for `sslrootcert`.
    var caPath: String { directory + "/tls/ca.pem" }

    /// The data directory.
    var dataDirectory: String { directory + "/data" }
    /// The Unix socket's directory.
    var socketDirectory: String { directory + "/socket" }

    /// Runs `body` with a new server, then stops it and removes its files, whatever `body` did.
    /// With `tls`, the server has `ssl = on` and a certificate of a test CA.
    static func with<T>(tls: TLS? = nil, _ body: (TestPostgres) async throws -> T) async throws -> T {
        guard let bin = binaries else { throw Failure(description: "PostgreSQL is not installed") }
        stopLeftovers()
        let directory = "/tmp/procwatch-pg-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let server = TestPostgres(directory: directory, port: try PrometheusServer.freePort(), bin: bin, tls: tls)
        defer { server.remove() }
        try server.initialize()
        try server.start()
        return try await body(server)
    }

    /// A connection string for `database` as the test role, over TCP to `host` (the
    /// password is not in it: give it as `PGPASSWORD`, see ``environment``).
    func url(database: String, host: String = "127.0.0.1", query: String = "sslmode=disable") -> String {
        "postgresql://\(Self.user)@\(host):\(port)/\(database)\(query.isEmpty ? "" : "?" + query)"
    }

    /// The environment a client needs for the test role's password.
    var environment: [String: String] { ["PGPASSWORD": Self.password] }

    /// Creates a new empty database owned by the test role; returns its name.
    func createDatabase() throws -> String {
        databases += 1
        let name = "fleet\(databases)"
        _ = try psql("CREATE DATABASE \(name) OWNER \(Self.user)")
        return name
    }

    /// Runs SQL as the superuser over the Unix socket; returns the rows, one per line,
    /// columns separated by `|` (psql's unaligned, tuples-only output).
    @discardableResult
    func psql(_ sql: String, database: String = "postgres") throws -> String {
        let result = try runAsPostgres([bin + "/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", socketDirectory,
                                        "-p", "\(port)", "-d", database, "-c", sql])
        guard result.status == 0 else { throw Failure(description: "psql \(sql): \(result.output)") }
        return result.output.hasSuffix("\n") ? String(result.output.dropLast()) : result.output
    }

    /// Starts the server (again, after ``stop()``) and waits until it accepts connections.
    func start() throws {
        let result = try runAsPostgres([bin + "/pg_ctl", "-D", dataDirectory, "-l", directory + "/server.log", "-w", "-t", "60",
                                        "-o", "-p \(port) -k \(socketDirectory) -c listen_addresses=*", "start"])
        guard result.status == 0 else { throw Failure(description: "pg_ctl start: \(result.output)\n\(log)") }
    }

    /// Stops the server (fast mode: connections are cut, as in an outage).
    func stop() throws {
        let result = try runAsPostgres([bin + "/pg_ctl", "-D", dataDirectory, "-w", "-t", "60", "-m", "fast", "stop"])
        guard result.status == 0 else { throw Failure(description: "pg_ctl stop: \(result.output)") }
    }

    /// What the server logged so far (for a failure's message).
    var log: String { (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? "" }

    private func initialize() throws {
        try FileManager.default.createDirectory(atPath: socketDirectory, withIntermediateDirectories: true)
        _ = try Spawn.run(["chown", "-R", "postgres:postgres", directory])
        let result = try runAsPostgres([bin + "/initdb", "-D", dataDirectory, "-U", "postgres", "--auth-local=trust",
                                        "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"])
        guard result.status == 0 else { throw Failure(description: "initdb: \(result.output)") }
        // Every address (the namespaced hosts connect from their veth's network), password only.
        let hba = "local all all trust\nhost all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n"
        try hba.write(toFile: dataDirectory + "/pg_hba.conf", atomically: false, encoding: .utf8)
        // Faster for tests (and what the benchmark states): no fsync; the outage test stops it cleanly.
        try "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 100\n"
            .appendLine(toFile: dataDirectory + "/postgresql.conf")
        if let tls {
            try Self.makeCA(in: directory + "/tls")
            try Self.makeCertificate(in: directory + "/tls", names: tls.names)
            try "ssl = on\nssl_cert_file = '\(directory)/tls/server.pem'\nssl_key_file = '\(directory)/tls/server.key'\n"
                .appendLine(toFile: dataDirectory + "/postgresql.conf")
        }
        _ = try Spawn.run(["chown", "-R", "postgres:postgres", directory])
        try start()
        try psql("CREATE ROLE \(Self.user) LOGIN PASSWORD '\(Self.password)'")
        try stop()
    }

    /// Makes a test CA in `directory` (created): `ca.key` and the self-signed `ca.pem`.
    static func makeCA(in directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", directory + "/ca.key",
                     "-out", directory + "/ca.pem", "-days", "2", "-subj", "/CN=procwatch test CA",
                     "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    }

    /// Makes `server.key` and `server.pem` in `directory`, signed by its CA, naming `names`.
    private static func makeCertificate(in directory: String, names: String) throws {
        try "subjectAltName=\(names)\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
            .write(toFile: directory + "/server.ext", atomically: false, encoding: .utf8)
        try openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", directory + "/server.key",
                     "-out", directory + "/server.csr", "-subj", "/CN=procwatch test server"])
        try openssl(["x509", "-req", "-in", directory + "/server.csr", "-CA", directory + "/ca.pem", "-CAkey", directory + "/ca.key",
                     "-CAcreateserial", "-out", directory + "/server.pem", "-days", "2", "-extfile", directory + "/server.ext"])
        chmod(directory + "/server.key", 0o600)
    }

    private static func openssl(_ arguments: [String]) throws {
        let null = open("/dev/null", O_WRONLY | O_CLOEXEC)
        defer { close(null) }
        let status = Spawn.wait(try Spawn.start(["/usr/bin/openssl"] + arguments, stdout: null, stderr: null))
        guard status == 0 else { throw Failure(description: "openssl \(arguments.joined(separator: " ")): status \(status)") }
    }

    private func remove() {
        _ = try? runAsPostgres([bin + "/pg_ctl", "-D", dataDirectory, "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Stops and removes the servers of test processes that are gone (killed before their cleanup).
    private static func stopLeftovers() {
        guard let bin = binaries, let names = try? FileManager.default.contentsOfDirectory(atPath: "/tmp") else { return }
        for name in names where name.hasPrefix("procwatch-pg-") {
            let parts = name.split(separator: "-")
            guard parts.count == 4, let pid = Int32(parts[2]), kill(pid, 0) != 0, errno == ESRCH else { continue }
            let server = TestPostgres(directory: "/tmp/" + name, port: 0, bin: bin)
            server.remove()
        }
    }

    /// Runs a command as the `postgres` user; its exit status and its output and errors together.
    private func runAsPostgres(_ argv: [String]) throws -> (status: Int32, output: String) {
        let output = directory + "/command-\(UInt32.random(in: 0...UInt32.max)).out"
        let fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure(description: "cannot create \(output): errno \(errno)") }
        defer { unlink(output) }
        let pid: Int32
        do {
            defer { close(fd) }
            // Not from a directory postgres cannot enter (initdb and pg_ctl check the cwd).
            pid = try Spawn.start(["/usr/sbin/runuser", "-u", "postgres", "--", "/bin/sh", "-c", "cd / && exec \"$@\"", "sh"] + argv,
                                  stdout: fd, stderr: fd)
        }
        let status = Spawn.wait(pid)
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        return (status, text)
    }
}

private extension String {
    /// Appends the text to a file.
    func appendLine(toFile path: String) throws {
        guard let handle = FileHandle(forWritingAtPath: path) else { throw TestPostgres.Failure(description: "cannot open \(path)") }
        defer { try? handle.close() }
        handle.seekToEndOfFile()
        handle.write(Data(utf8))
    }
}
