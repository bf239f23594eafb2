import ProcWatch
import Synchronization
import Testing
@testable import ProcWatchDaemon

/// The daemon's metrics fed synthetic batches, read back as exposition lines.
@Suite("Daemon metrics")
struct DaemonMetricsTests {
    /// An event at `second` seconds of CLOCK_MONOTONIC.
    static func event(_ detail: ProcessEvent.Detail, at second: Double) -> ProcessEvent {
        let nanoseconds = UInt64(second * 1e9)
        return ProcessEvent(detail: detail, timestamp: EventTimestamp(monotonicNanoseconds: nanoseconds, unixNanoseconds: Int64(nanoseconds)))
    }

    static func task(_ pid: Int32, _ tid: Int32? = nil) -> TaskID { TaskID(pid: pid, tid: tid ?? pid) }

    /// An exec of `pid` whose process table record has `commandLine` and `name`.
    static func exec(_ pid: Int32, _ commandLine: [String], name: String = "", at second: Double = 1) -> EnrichedEvent {
        EnrichedEvent(event: event(.exec(task(pid)), at: second),
                      process: ProcessRecord(pid: pid, parentPID: 1, name: name, commandLine: commandLine))
    }

    /// The exposition's lines, sorted (the registry writes its families in no fixed order).
    static func lines(_ metrics: DaemonMetrics) -> [String] {
        String(decoding: metrics.exposition(), as: UTF8.self).split(separator: "\n").map(String.init).sorted()
    }

    /// The lines of one metric's samples (no HELP or TYPE), sorted.
    static func samples(_ metrics: DaemonMetrics, _ name: String) -> [String] {
        lines(metrics).filter { $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ") }
    }

    /// A clock a test sets.
    final class TestClock: Sendable {
        let nanoseconds = Atomic<UInt64>(0)
        func set(_ seconds: Double) { nanoseconds.store(UInt64(seconds * 1e9), ordering: .relaxed) }
    }

    @Test("a batch of every kind: exact exposition")
    func everyKind() {
        let clock = TestClock()
        let metrics = DaemonMetrics(topPrograms: 20, programAdmission: 1, clock: { clock.nanoseconds.load(ordering: .relaxed) })
        let failure = ExecFailure(path: "/usr/bin/nosuch", commandLine: ["nosuch"], isCommandLineCut: false, errno: 2)
        metrics.record([
            EnrichedEvent(event: Self.event(.fork(parent: Self.task(100), child: Self.task(101)), at: 1.0)),
            EnrichedEvent(event: Self.event(.fork(parent: Self.task(1), child: Self.task(101, 102)), at: 1.1)),
            Self.exec(101, ["/usr/bin/cc", "-c", "x.c"], name: "cc", at: 1.2),
            Self.exec(103, [], name: "sh", at: 1.3),
            EnrichedEvent(event: Self.event(.exec(Self.task(104)), at: 1.4)),  // gone before /proc was read
            EnrichedEvent(event: Self.event(.exit(Self.task(101, 102), waitStatus: 9, exitSignal: -1, parent: Self.task(0)), at: 1.5)),
            EnrichedEvent(event: Self.event(.exit(Self.task(101), waitStatus: 768, exitSignal: 17, parent: Self.task(100)), at: 1.6)),
            EnrichedEvent(event: Self.event(.exit(Self.task(103), waitStatus: 0, exitSignal: 17, parent: Self.task(1)), at: 1.7)),
            EnrichedEvent(event: Self.event(.exit(Self.task(105), waitStatus: 9, exitSignal: 17, parent: Self.task(1)), at: 1.8)),
            EnrichedEvent(event: Self.event(.uid(Self.task(106), real: 1000, effective: 1000), at: 1.9)),
            EnrichedEvent(event: Self.event(.comm(Self.task(106), name: "worker"), at: 2.0)),
            EnrichedEvent(event: Self.event(.execFailed(Self.task(106), failure), at: 2.1)),
            EnrichedEvent(event: Self.event(.lost(count: 5, reason: .sequenceGap, cpu: 1), at: 2.2)),
            EnrichedEvent(event: Self.event(.lost(count: nil, reason: .overflow, cpu: nil), at: 2.3)),
            EnrichedEvent(event: Self.event(.lost(count: 2, reason: .ringBuffer, cpu: nil), at: 2.4)),
        ])
        metrics.lost(7, reason: .backlog)
        metrics.clientConnected(id: 1)
        metrics.clientConnected(id: 2)
        metrics.queueDepth(id: 2, depth: 42)
        metrics.requestRefused()
        metrics.historySize(bytes: 1_048_576)
        clock.set(3.5)  // the batch's oldest event (1.0 s) waits, nothing committed
        #expect(Self.lines(metrics) == [
            "# HELP procwatch_client_queue_depth Events waiting in a connected client's queue.",
            "# HELP procwatch_clients Clients connected to the daemon's socket.",
            "# HELP procwatch_events_total Events received from the kernel, by contract event name (lost reports excluded).",
            "# HELP procwatch_exec_failed_total Exec calls that failed (kernel-side source only).",
            "# HELP procwatch_execs_total Execs by program (base name of argv[0]): the first programs to recur, at most N, then other.",
            "# HELP procwatch_history_bytes Size of the history on disk in bytes.",
            "# HELP procwatch_lost_events_total Events missing from the stream, by reason (the counts of the lost reports).",
            "# HELP procwatch_processes_failed_total Processes that exited with a non-zero status or were killed by a signal.",
            "# HELP procwatch_processes_started_total Processes created (forks of a process, not of a thread).",
            "# HELP procwatch_recording_lag_seconds Age of the oldest event not yet committed to the history; 0 when none waits.",
            "# HELP procwatch_refused_requests_total Client requests refused.",
            "# HELP procwatch_sink_lag_seconds Age of the newest event written to the fleet store (sink) while events wait; 0 when none waits.",
            "# HELP procwatch_sink_spooled_bytes Bytes of batches waiting for the fleet store (sink), in memory and in spool files.",
            "# TYPE procwatch_client_queue_depth gauge",
            "# TYPE procwatch_clients gauge",
            "# TYPE procwatch_events_total counter",
            "# TYPE procwatch_exec_failed_total counter",
            "# TYPE procwatch_execs_total counter",
            "# TYPE procwatch_history_bytes gauge",
            "# TYPE procwatch_lost_events_total counter",
            "# TYPE procwatch_processes_failed_total counter",
            "# TYPE procwatch_processes_started_total counter",
            "# TYPE procwatch_recording_lag_seconds gauge",
            "# TYPE procwatch_refused_requests_total counter",
            "# TYPE procwatch_sink_lag_seconds gauge",
            "# TYPE procwatch_sink_spooled_bytes gauge",
            "procwatch_client_queue_depth{client=\"1\"} 0.0",
            "procwatch_client_queue_depth{client=\"2\"} 42.0",
            "procwatch_clients 2.0",
            "procwatch_events_total{kind=\"comm\"} 1",
            "procwatch_events_total{kind=\"coredump\"} 0",
            "procwatch_events_total{kind=\"exec\"} 3",
            "procwatch_events_total{kind=\"exec_failed\"} 1",
            "procwatch_events_total{kind=\"exit\"} 4",
            "procwatch_events_total{kind=\"fork\"} 2",
            "procwatch_events_total{kind=\"gid\"} 0",
            "procwatch_events_total{kind=\"ptrace\"} 0",
            "procwatch_events_total{kind=\"sid\"} 0",
            "procwatch_events_total{kind=\"uid\"} 1",
            "procwatch_events_total{kind=\"unknown\"} 0",
            "procwatch_exec_failed_total 1",
            "procwatch_execs_total{program=\"cc\"} 1",
            "procwatch_execs_total{program=\"other\"} 1",
            "procwatch_execs_total{program=\"sh\"} 1",
            "procwatch_history_bytes 1048576.0",
            "procwatch_lost_events_total{reason=\"backlog\"} 7",
            "procwatch_lost_events_total{reason=\"enobufs\"} 0",
            "procwatch_lost_events_total{reason=\"malformed\"} 0",
            "procwatch_lost_events_total{reason=\"restart\"} 0",
            "procwatch_lost_events_total{reason=\"ringbuf\"} 2",
            "procwatch_lost_events_total{reason=\"scan_gap\"} 0",
            "procwatch_lost_events_total{reason=\"seq_gap\"} 5",
            "procwatch_lost_events_total{reason=\"spool\"} 0",
            "procwatch_lost_events_total{reason=\"taskstats\"} 0",
            "procwatch_processes_failed_total 2",
            "procwatch_processes_started_total 1",
            "procwatch_recording_lag_seconds 2.5",
            "procwatch_refused_requests_total 1",
            "procwatch_sink_lag_seconds 0.0",
            "procwatch_sink_spooled_bytes 0.0",
        ])
    }

    @Test("a disconnected client's queue depth series is removed, the count follows")
    func clientsComeAndGo() {
        let metrics = DaemonMetrics(topPrograms: 20, programAdmission: 1, clock: { 0 })
        for id in UInt64(1)...3 { metrics.clientConnected(id: id) }
        metrics.queueDepth(id: 3, depth: 5)
        metrics.clientDisconnected(id: 1)
        metrics.clientDisconnected(id: 9)  // never connected: nothing happens
        metrics.queueDepth(id: 1, depth: 8)  // gone: ignored
        #expect(Self.samples(metrics, "procwatch_client_queue_depth") == [
            "procwatch_client_queue_depth{client=\"2\"} 0.0",
            "procwatch_client_queue_depth{client=\"3\"} 5.0",
        ])
        #expect(Self.samples(metrics, "procwatch_clients") == ["procwatch_clients 2.0"])
        metrics.clientDisconnected(id: 2)
        metrics.clientDisconnected(id: 3)
        #expect(Self.samples(metrics, "procwatch_client_queue_depth") == [])
        #expect(Self.samples(metrics, "procwatch_clients") == ["procwatch_clients 0.0"])
    }

    @Test("the recording lag: 0 when all is committed, else the oldest waiting event's age")
    func recordingLag() {
        let clock = TestClock()
        let metrics = DaemonMetrics(topPrograms: 20, programAdmission: 1, clock: { clock.nanoseconds.load(ordering: .relaxed) })
        let lag = { Self.samples(metrics, "procwatch_recording_lag_seconds") }
        clock.set(10)
        #expect(lag() == ["procwatch_recording_lag_seconds 0.0"])  // nothing received yet
        metrics.record([Self.exec(1, ["a"], at: 4), Self.exec(2, ["b"], at: 6)])
        #expect(lag() == ["procwatch_recording_lag_seconds 6.0"])  // the event at 4 s waits
        metrics.historyCommitted(through: Self.event(.exec(Self.task(1)), at: 4).timestamp)
        #expect(lag() == ["procwatch_recording_lag_seconds 6.0"])  // the one at 6 s waits; 4 s stands for it
        metrics.historyCommitted(through: Self.event(.exec(Self.task(2)), at: 6).timestamp)
        #expect(lag() == ["procwatch_recording_lag_seconds 0.0"])
        clock.set(100)  // a quiet hour: still 0, nothing waits
        #expect(lag() == ["procwatch_recording_lag_seconds 0.0"])
        metrics.record([Self.exec(3, ["c"], at: 99.5)])
        #expect(lag() == ["procwatch_recording_lag_seconds 0.5"])
    }

    @Test("1,000 distinct programs: exactly N + 1 label values, their sum every exec")
    func topProgramsBound() {
        let metrics = DaemonMetrics(topPrograms: 20, programAdmission: 3, clock: { 0 })
        // Program i runs i % 5 + 1 times, spread over 50 batches of 20 programs each; the
        // first 200 programs come before the rest, so slots fill from them.
        var total = 0
        for batch in 0..<50 {
            var events: [EnrichedEvent] = []
            for program in batch * 20..<batch * 20 + 20 {
                for run in 0..<(program % 5 + 1) {
                    events.append(Self.exec(Int32(program * 10 + run), ["/opt/bin/p\(program)", "x"]))
                    total += 1
                }
            }
            metrics.record(events)
        }
        let execs = Self.samples(metrics, "procwatch_execs_total")
        let values = execs.map { Int($0.split(separator: " ").last!)! }
        #expect(execs.count == 21)
        #expect(values.reduce(0, +) == total)
        #expect(total == 3000)
        // A batch's programs are placed most frequent first, and each program's runs are in
        // one batch: batch 0 admits its twelve programs run 3 to 5 times, batch 1 its eight
        // run 4 or 5 times; p22, p27 … (3 runs) come too late; the rest stay in `other`.
        let admitted = [2, 3, 4, 7, 8, 9, 12, 13, 14, 17, 18, 19, 23, 24, 28, 29, 33, 34, 38, 39]
        let expected = admitted.map { "procwatch_execs_total{program=\"p\($0)\"} \($0 % 5 + 1)" }
            + ["procwatch_execs_total{program=\"other\"} \(total - admitted.map { $0 % 5 + 1 }.reduce(0, +))"]
        #expect(execs == expected.sorted())
    }

    @Test("a program admitted later keeps earlier execs in other; slots never change hands")
    func admissionAcrossBatches() {
        let metrics = DaemonMetrics(topPrograms: 2, programAdmission: 3, clock: { 0 })
        metrics.record([Self.exec(1, ["make"]), Self.exec(2, ["cc"])])
        metrics.record([Self.exec(3, ["make"]), Self.exec(4, ["cc"]), Self.exec(5, ["cc"])])  // cc reaches 3
        // ld (3 in the batch) is placed before make (1), reaches 3 and takes the last slot.
        metrics.record([Self.exec(6, ["make"]), Self.exec(7, ["ld"]), Self.exec(8, ["ld"]), Self.exec(9, ["ld"])])
        metrics.record([Self.exec(10, ["ld"]), Self.exec(11, ["cc"]), Self.exec(12, ["make"])])
        #expect(Self.samples(metrics, "procwatch_execs_total") == [
            "procwatch_execs_total{program=\"cc\"} 3",  // admitted with the 2 of its second batch, then 1
            "procwatch_execs_total{program=\"ld\"} 4",  // admitted with its whole first batch, then 1
            "procwatch_execs_total{program=\"other\"} 5",  // cc 1 and make 4: make ran 4 times, too late
        ])
    }

    @Test("the candidate table halves its counts when full and never overestimates")
    func candidateDecay() {
        var slots = ProgramSlots(capacity: 1, admission: 3)  // room for 4 candidates
        for name in ["a", "b", "c", "d"] { #expect(slots.place(name, count: 2) == .other) }
        // Full: halving leaves every one at 1, still full; halving again empties it.
        #expect(slots.place("e", count: 1) == .other)
        #expect(slots.place("a", count: 1) == .other)  // a starts again from 1
        #expect(slots.place("a", count: 1) == .other)
        #expect(slots.place("a", count: 1) == .own(0))
        #expect(slots.place("b", count: 5) == .other)  // no slot left
        #expect(slots.admitted == ["a": 0])
    }
}
