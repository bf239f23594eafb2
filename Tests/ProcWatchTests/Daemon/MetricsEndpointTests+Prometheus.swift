import ProcWatch
import Testing
@testable import ProcWatchDaemon

/// The metrics endpoint scraped by a real Prometheus, its values read back with PromQL.
///
/// In the endpoint's serialized suite: NIO's sockets are not close-on-exec on Linux, so a
/// Prometheus spawned while another test's endpoint runs would inherit that endpoint's
/// listener and connections and keep them open after it closes them.
extension MetricsEndpointTests {
    @Test("a real Prometheus scrapes the endpoint and PromQL returns the counts fed",
          .enabled(if: PrometheusServer.isAvailable, "needs prometheus (scripts/test installs it)"))
    func prometheusScrape() async throws {
        let metrics = DaemonMetrics(topPrograms: 2, programAdmission: 1, clock: { 0 })
        metrics.record([
            DaemonMetricsTests.exec(10, ["/usr/bin/make"]),
            DaemonMetricsTests.exec(11, ["/usr/bin/cc", "-c", "a.c"]),
            DaemonMetricsTests.exec(12, ["/usr/bin/cc", "-c", "b.c"]),
        ])
        metrics.record([
            DaemonMetricsTests.exec(13, ["/usr/bin/ld"]),  // the slots are full: other
            EnrichedEvent(event: DaemonMetricsTests.event(.exit(TaskID(pid: 13, tid: 13), waitStatus: 256, exitSignal: 17,
                                                                parent: TaskID(pid: 1, tid: 1)), at: 2)),
            EnrichedEvent(event: DaemonMetricsTests.event(.lost(count: 4, reason: .sequenceGap, cpu: 0), at: 2)),
        ])
        let endpoint = try await MetricsEndpoint.bind(MetricsAddress(parsing: "127.0.0.1:0"), metrics: metrics)
        do {
            try await PrometheusServer.with(scraping: "127.0.0.1:\(endpoint.port)") { prometheus in
                try prometheus.waitForScrape(of: "procwatch_events_total")
                #expect(try prometheus.query(#"procwatch_events_total{kind="exec"}"#)
                    == [["job": "procwatch", "instance": "127.0.0.1:\(endpoint.port)", "kind": "exec"]: "4"])
                #expect(try prometheus.query("sum(procwatch_execs_total)") == [[:]: "4"])
                #expect(try prometheus.query("sum by (program) (procwatch_execs_total)")
                    == [["program": "cc"]: "2", ["program": "make"]: "1", ["program": "other"]: "1"])
                #expect(try prometheus.query("procwatch_processes_failed_total")
                    == [["job": "procwatch", "instance": "127.0.0.1:\(endpoint.port)"]: "1"])
                #expect(try prometheus.query(#"sum(procwatch_lost_events_total{reason="seq_gap"})"#) == [[:]: "4"])
            }
        } catch {
            await endpoint.close()
            throw error
        }
        await endpoint.close()
    }
}
