import Foundation
import Glibc

/// A real Prometheus (Debian's `prometheus`) run by a test on loopback: it scrapes one
/// target every second, and the test asks it PromQL over its HTTP API.
///
/// ```swift
/// try await PrometheusServer.with(scraping: "127.0.0.1:\(port)") { prometheus in
///     try prometheus.waitForScrape(of: "procwatch_events_total")
///     #expect(try prometheus.query("sum(procwatch_execs_total)") == [[:]: "3"])
/// }
/// ```
///
/// Its configuration, database and log live in a temporary directory; it is killed and the
/// directory removed on every way out of ``with(scraping:_:)``.
final class PrometheusServer {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The binary, when installed (`scripts/test` installs it).
    static let binary: String? = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Whether a test can run one.
    static var isAvailable: Bool { binary != nil }

    /// Its HTTP API's port on 127.0.0.1.
    let port: Int
    let pid: Int32
    let directory: String

    private init(port: Int, pid: Int32, directory: String) {
        self.port = port
        self.pid = pid
        self.directory = directory
    }

    /// Runs `body` with a Prometheus scraping `target` (`ADDRESS:PORT`, path `/metrics`)
    /// every second, then kills it and removes its files, whatever `body` did.
    static func with<T>(scraping target: String, _ body: (PrometheusServer) async throws -> T) async throws -> T {
        guard let binary else { throw Failure(description: "prometheus is not installed") }
        let directory = NSTemporaryDirectory() + "procwatch-prometheus-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try """
        global:
          scrape_interval: 1s
          scrape_timeout: 1s
        scrape_configs:
          - job_name: procwatch
            static_configs:
              - targets: ["\(target)"]

        """.write(toFile: directory + "/prometheus.yml", atomically: true, encoding: .utf8)
        let port = try freePort()
        let log = open(directory + "/prometheus.log", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard log >= 0 else { throw Failure(description: "cannot create \(directory)/prometheus.log: errno \(errno)") }
        let pid: Int32
        do {
            defer { close(log) }
            pid = try Spawn.start([binary, "--config.file=\(directory)/prometheus.yml", "--storage.tsdb.path=\(directory)/data",
                                   "--web.listen-address=127.0.0.1:\(port)"], stdout: log, stderr: log)
        }
        let server = PrometheusServer(port: port, pid: pid, directory: directory)
        defer { server.stop() }
        try server.waitUntilReady()
        return try await body(server)
    }

    /// SIGTERM, then SIGKILL after 10 s; reaped either way.
    private func stop() {
        kill(pid, SIGTERM)
        if Spawn.wait(pid, timeout: .seconds(10)) == nil {
            kill(pid, SIGKILL)
            Spawn.wait(pid)
        }
    }

    /// What it logged so far (for a failure's message).
    var log: String {
        (try? String(contentsOfFile: directory + "/prometheus.log", encoding: .utf8)) ?? ""
    }

    /// Waits (at most 30 s) until its API answers `/-/ready` with 200.
    private func waitUntilReady() throws {
        let ready = eventually(timeout: .seconds(30)) {
            (try? RawHTTP.request(port: port, "GET", "/-/ready", version: "1.0"))?.status.hasSuffix(" 200 OK") == true
        }
        guard ready else { throw Failure(description: "prometheus did not become ready within 30 s:\n\(log)") }
    }

    /// Waits (at most `timeout`) until the target's health is "up" and `metric` has a sample.
    func waitForScrape(of metric: String, timeout: Duration = .seconds(30)) throws {
        let scraped = eventually(timeout: timeout) {
            guard let targets = try? api("/api/v1/targets"),
                  let active = (targets["data"] as? [String: Any])?["activeTargets"] as? [[String: Any]],
                  active.contains(where: { $0["health"] as? String == "up" }) else { return false }
            return ((try? query(metric)) ?? [:]).isEmpty == false
        }
        guard scraped else {
            throw Failure(description: "prometheus did not scrape \(metric) within \(timeout): targets \((try? api("/api/v1/targets")) ?? [:])\n\(log)")
        }
    }

    /// An instant PromQL query: each series' labels (without `__name__`) and its value as
    /// Prometheus writes it (`"3"`, `"0.5"`).
    func query(_ promql: String) throws -> [[String: String]: String] {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let encoded = promql.addingPercentEncoding(withAllowedCharacters: allowed)!
        let answer = try api("/api/v1/query?query=\(encoded)")
        guard answer["status"] as? String == "success", let data = answer["data"] as? [String: Any],
              let result = data["result"] as? [[String: Any]] else { throw Failure(description: "query \(promql): \(answer)") }
        var series: [[String: String]: String] = [:]
        for item in result {
            var labels = item["metric"] as? [String: String] ?? [:]
            labels["__name__"] = nil
            guard let value = item["value"] as? [Any], value.count == 2, let text = value[1] as? String else {
                throw Failure(description: "query \(promql): unexpected sample \(item)")
            }
            series[labels] = text
        }
        return series
    }

    /// GET of an API path, its JSON body decoded.
    private func api(_ path: String) throws -> [String: Any] {
        let response = try RawHTTP.request(port: port, "GET", path, version: "1.0")
        guard response.status.hasSuffix(" 200 OK"),
              let json = try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any] else {
            throw Failure(description: "GET \(path): \(response.status) \(response.body)")
        }
        return json
    }

    /// A TCP port on 127.0.0.1 that nothing listens on now (bound to 0, then released).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw Failure(description: "no free port on 127.0.0.1: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
