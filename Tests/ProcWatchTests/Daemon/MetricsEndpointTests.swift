import Logging
import ServiceLifecycle
import Testing
@testable import ProcWatchDaemon

/// The metrics endpoint: its address rules and errors, its HTTP answers, its shutdown.
@Suite("Metrics endpoint", .serialized)
struct MetricsEndpointTests {
    @Test("loopback addresses parse", arguments: [
        ("127.0.0.1:9464", "127.0.0.1", 9464, "127.0.0.1:9464"),
        ("127.45.6.7:0", "127.45.6.7", 0, "127.45.6.7:0"),
        ("localhost:65535", "127.0.0.1", 65535, "127.0.0.1:65535"),
        ("LocalHost:80", "127.0.0.1", 80, "127.0.0.1:80"),
        ("[::1]:9464", "::1", 9464, "[::1]:9464"),
        ("[0:0:0:0:0:0:0:1]:1", "0:0:0:0:0:0:0:1", 1, "[0:0:0:0:0:0:0:1]:1"),
    ])
    func parses(text: String, host: String, port: Int, description: String) throws {
        let address = try MetricsAddress(parsing: text)
        #expect(address.host == host)
        #expect(address.port == port)
        #expect(address.description == description)
    }

    @Test("other addresses are refused with one line naming them", arguments: [
        ("0.0.0.0:9464", MetricsEndpointError.notLoopback("0.0.0.0:9464")),
        ("10.1.2.3:9464", .notLoopback("10.1.2.3:9464")),
        ("[::]:9464", .notLoopback("[::]:9464")),
        ("[::ffff:127.0.0.1]:9464", .notLoopback("[::ffff:127.0.0.1]:9464")),
        ("example.org:9464", .notLoopback("example.org:9464")),
        ("9464", .malformedAddress("9464")),
        ("127.0.0.1", .malformedAddress("127.0.0.1")),
        ("127.0.0.1:", .malformedAddress("127.0.0.1:")),
        ("127.0.0.1:65536", .malformedAddress("127.0.0.1:65536")),
        ("127.0.0.1:+80", .malformedAddress("127.0.0.1:+80")),
        ("::1:9464", .malformedAddress("::1:9464")),
        ("[127.0.0.1]:9464", .malformedAddress("[127.0.0.1]:9464")),
        (":9464", .malformedAddress(":9464")),
    ])
    func refuses(text: String, error: MetricsEndpointError) {
        #expect(throws: error) { try MetricsAddress(parsing: text) }
    }

    @Test("the errors' lines")
    func errorLines() {
        #expect(MetricsEndpointError.malformedAddress("9464").description
            == "metrics address '9464' is not ADDRESS:PORT: expected an IPv4 address, [IPv6 address] or localhost, a colon and a port from 0 to 65535 (e.g. 127.0.0.1:9464)")
        #expect(MetricsEndpointError.notLoopback("0.0.0.0:9464").description
            == "metrics address 0.0.0.0:9464 is not a loopback address: metrics are served on 127.0.0.0/8, [::1] or localhost only (put a proxy in front to publish them)")
    }

    @Test("a port already taken: one line naming the address and the reason")
    func portTaken() async throws {
        let first = try await MetricsEndpoint.bind(MetricsAddress(parsing: "127.0.0.1:0"), metrics: DaemonMetrics())
        #expect(first.port > 0)
        let taken = "127.0.0.1:\(first.port)"
        await #expect(throws: MetricsEndpointError.cannotListen(address: taken, reason: "Address already in use (EADDRINUSE)")) {
            _ = try await MetricsEndpoint.bind(MetricsAddress(parsing: taken), metrics: DaemonMetrics())
        }
        #expect(MetricsEndpointError.cannotListen(address: taken, reason: "Address already in use (EADDRINUSE)").description
            == "cannot serve metrics on \(taken): Address already in use (EADDRINUSE)")
        await first.close()
    }

    @Test("GET /metrics: 200 with the exposition; other paths 404; other methods 405")
    func answers() async throws {
        let metrics = DaemonMetrics(topPrograms: 20, programAdmission: 1, clock: { 0 })
        metrics.record([DaemonMetricsTests.exec(7, ["/bin/true"])])
        let endpoint = try await MetricsEndpoint.bind(MetricsAddress(parsing: "127.0.0.1:0"), metrics: metrics)
        let port = endpoint.port

        let ok = try RawHTTP.request(port: port, "GET", "/metrics")
        let expected = String(decoding: metrics.exposition(), as: UTF8.self)
        #expect(ok.status == "HTTP/1.1 200 OK")
        #expect(ok.headers == ["Content-Type: text/plain; version=0.0.4; charset=utf-8",
                               "Content-Length: \(expected.utf8.count)", "Connection: close"])
        #expect(ok.body.split(separator: "\n").sorted() == expected.split(separator: "\n").sorted())
        #expect(ok.body.split(separator: "\n").contains("procwatch_execs_total{program=\"true\"} 1"))
        #expect(ok.body.split(separator: "\n").contains("procwatch_events_total{kind=\"exec\"} 1"))

        let query = try RawHTTP.request(port: port, "GET", "/metrics?x=1")
        #expect(query.status == "HTTP/1.1 200 OK")

        let missing = try RawHTTP.request(port: port, "GET", "/")
        #expect(missing == RawHTTP.Response(
            status: "HTTP/1.1 404 Not Found",
            headers: ["Content-Type: text/plain; charset=utf-8", "Content-Length: 39", "Connection: close"],
            body: "not found: the metrics are at /metrics\n"))

        let post = try RawHTTP.request(port: port, "POST", "/metrics")
        #expect(post == RawHTTP.Response(
            status: "HTTP/1.1 405 Method Not Allowed",
            headers: ["Allow: GET", "Content-Type: text/plain; charset=utf-8", "Content-Length: 42", "Connection: close"],
            body: "method POST not allowed: use GET /metrics\n"))
        await endpoint.close()
    }

    @Test("a graceful shutdown stops listening and closes kept-alive connections")
    func gracefulShutdown() async throws {
        // An address of 127.0.0.0/8 no other test uses: its port cannot be taken again by
        // another test's listener before the check that nothing listens any more.
        let host = "127.83.0.1"
        let endpoint = try await MetricsEndpoint.bind(MetricsAddress(parsing: "\(host):0"), metrics: DaemonMetrics())
        let port = endpoint.port
        let group = ServiceGroup(services: [endpoint], logger: Logger(label: "test"))
        let running = Task { try await group.run() }

        // Two requests on one kept-alive connection, then the shutdown.
        let connection = try RawHTTP.Connection(host: host, port: port)
        for _ in 0..<2 {
            try connection.send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(try connection.receiveResponse().status == "HTTP/1.1 200 OK")
        }
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(try connection.receivedEnd())
        #expect(throws: RawHTTP.Failure.self) { try RawHTTP.Connection(host: host, port: port) }
    }
}
