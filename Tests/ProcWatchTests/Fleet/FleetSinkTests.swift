import Foundation
import Glibc
import Logging
import PostgresNIO
import Testing
@testable import ProcWatch
@testable import ProcWatchFleet
import ProcWatchStore

/// The fleet sink against a real PostgreSQL: argv that COPY must escape, a batch written
/// twice, an outage under load, a spool that overflows, a spool file left by a run that
/// never finished, and the journal of the batches in memory of a killed run.
@Suite(.serialized, .enabled(if: TestPostgres.isAvailable, "needs PostgreSQL and root"))
struct FleetSinkTests {
    let logger = Logger(label: "test")
    let host = LocalMachine(machineID: "test-machine", bootID: "test-boot", name: "test-host", kernel: "Linux test", procwatchVersion: "test")
    let session = RecordingSession(arguments: ["daemon"], command: nil, filters: nil, taskstats: false)

    func connector(_ server: TestPostgres, _ database: String) throws -> FleetConnector {
        FleetConnector(url: try FleetURL(parsing: server.url(database: database), environment: [:]),
                       password: TestPostgres.password, logger: logger)
    }

    /// Synthetic processes: each a fork, an exec of `argv` and an exit (3 events), pids from `firstPID`.
    final class Workload: @unchecked Sendable {
        var produced = 0
        private var nextPID: Int32
        init(firstPID: Int32) { nextPID = firstPID }

        func feed(_ sink: FleetSink, processes: Int, argv: [String] = ["/bin/true", "x"]) {
            for _ in 0..<processes {
                let pid = nextPID
                nextPID += 1
                let record = ProcessRecord(pid: pid, parentPID: 1, name: "true", commandLine: argv, executable: "/bin/true", uid: 0,
                                           startNanoseconds: nil, endNanoseconds: nil)
                for detail: ProcessEvent.Detail in [.fork(parent: TaskID(pid: 1, tid: 1), child: TaskID(pid: pid, tid: pid)),
                                                    .exec(TaskID(pid: pid, tid: pid)),
                                                    .exit(TaskID(pid: pid, tid: pid), waitStatus: 256, exitSignal: 17, parent: TaskID(pid: 1, tid: 1))] {
                    sink.record(EnrichedEvent(event: ProcessEvent(detail: detail, timestamp: .now), process: record))
                    produced += 1
                }
            }
        }
    }

    func count(_ server: TestPostgres, _ database: String, _ sql: String) throws -> Int {
        Int(try server.psql(sql, database: database)) ?? -1
    }

    @Test func argvThatCopyMustEscapeArrivesExactly() async throws {
        try await TestPostgres.with { server in
            let database = try server.createDatabase()
            let sink = FleetSink(connector: try connector(server, database), host: host, session: session,
                                 limits: FleetSpoolLimits(directory: nil), logger: logger)
            try await sink.start()
            let running = Task { await sink.run() }
            let argv = ["/bin/echo", "a\tb", "line1\nline2\r", "back\\slash \\N", String(decoding: [0x66, 0xFF, 0x6F], as: UTF8.self), "it's \"quoted\""]
            let workload = Workload(firstPID: 40_000)
            workload.feed(sink, processes: 1, argv: argv)
            #expect(await sink.finish(reason: "signal", waitingUpTo: 20) == 0)
            await running.value
            let json = JSONText.strings(argv).replacingOccurrences(of: "'", with: "''")
            #expect(try count(server, database, "SELECT count(*) FROM procwatch.events WHERE event = 'exec' AND cmdline = '\(json)'::jsonb") == 1)
            #expect(try count(server, database, "SELECT count(*) FROM procwatch.processes WHERE cmdline = '\(json)'::jsonb AND pid = 40000") == 1)
            #expect(try server.psql("SELECT name, machine_id FROM procwatch.hosts", database: database) == "test-host|test-machine")
            #expect(try server.psql("SELECT end_reason FROM procwatch.recordings", database: database) == "signal")
        }
    }

    @Test func aBatchWrittenTwiceIsWrittenOnce() async throws {
        try await TestPostgres.with { server in
            let database = try server.createDatabase()
            let fleet = try connector(server, database)
            var encoder = BatchEncoder(session: session, bootID: "b")
            for pid: Int32 in 41_000..<41_010 {
                encoder.record(EnrichedEvent(event: ProcessEvent(detail: .fork(parent: TaskID(pid: 1, tid: 1), child: TaskID(pid: pid, tid: pid)),
                                                                 timestamp: .now)), stored: true)
            }
            let pending = encoder.take()
            let batch = try #require(pending).encode()
            let written = try await fleet.withConnection { connection in
                _ = try await FleetSchema.prepare(connection, server: "s", procwatchVersion: "t", logger: logger)
                let id = try await host.register(connection, logger: logger)
                let writer = BatchWriter(host: id, logger: logger)
                return [try await writer.write(batch, on: connection), try await writer.write(batch, on: connection)]
            }
            #expect(written == [true, false])
            #expect(try count(server, database, "SELECT count(*) FROM procwatch.events") == 10)
            #expect(try count(server, database, "SELECT count(*) FROM procwatch.processes") == 10)
            #expect(try count(server, database, "SELECT count(*) FROM procwatch.batches") == 1)
            #expect(try count(server, database, "SELECT count(*) FROM procwatch.recordings") == 1)
        }
    }

    @Test func everyEventOfAnOutageIsWrittenOnce() async throws {
        try await TestPostgres.with { server in
            let database = try server.createDatabase()
            let sink = FleetSink(connector: try connector(server, database), host: host, session: session,
                                 limits: FleetSpoolLimits(directory: nil), logger: logger)
            try await sink.start()
            let running = Task { await sink.run() }
            let workload = Workload(firstPID: 100_000)
            // 6 s of 300 processes (900 events) every 50 ms; the server is away from 1.5 s to 4.5 s.
            let feeding = Task {
                for _ in 0..<120 {
                    workload.feed(sink, processes: 300)
                    try? await Task.sleep(for: .milliseconds(50))
                }
            }
            try await Task.sleep(for: .milliseconds(1500))
            try server.stop()
            try await Task.sleep(for: .seconds(3))
            #expect(sink.status.spooledBatches > 0)
            try server.start()
            await feeding.value
            #expect(await sink.finish(reason: "signal", waitingUpTo: 30) == 0)
            await running.value
            #expect(sink.status.droppedEvents == 0)
            #expect(try count(server, database, "SELECT count(*) FROM procwatch.events") == workload.produced)
            #expect(try count(server, database, "SELECT count(*) FROM (SELECT DISTINCT recording, ktime_ns, tid, event FROM procwatch.events) e") == workload.produced)
            #expect(try count(server, database, "SELECT sum(events) FROM procwatch.batches") == workload.produced)
            #expect(try count(server, database, "SELECT count(*) FROM procwatch.processes") == workload.produced / 3)
        }
    }

    @Test func aSpoolThatOverflowsSaysHowManyEventsItLost() async throws {
        try await TestPostgres.with { server in
            let database = try server.createDatabase()
            let fleet = try connector(server, database)
            // The schema first, so the sink's start finds a server it can use once it is back.
            _ = try await fleet.withConnection { try await FleetSchema.prepare($0, server: "s", procwatchVersion: "t", logger: logger) }
            try server.stop()
            let sink = FleetSink(connector: fleet, host: host, session: session,
                                 limits: FleetSpoolLimits(memoryBytes: 40_000, directory: nil), logger: logger)
            await #expect(throws: FleetError.self) { try await sink.start() }
            let running = Task { await sink.run() }
            let workload = Workload(firstPID: 200_000)
            for _ in 0..<30 {
                workload.feed(sink, processes: 50)
                try await Task.sleep(for: .milliseconds(120))
            }
            let dropped = sink.status.droppedEvents
            #expect(dropped > 0)
            try server.start()
            #expect(await sink.finish(reason: "signal", waitingUpTo: 30) == dropped)
            await running.value
            #expect(sink.status.droppedEvents == dropped)
            let written = try count(server, database, "SELECT count(*) FROM procwatch.events WHERE event <> 'lost'")
            let lost = try count(server, database, "SELECT sum(count) FROM procwatch.events WHERE event = 'lost' AND reason = 'spool'")
            #expect(lost == dropped)
            #expect(written + lost == workload.produced)
        }
    }

    /// A sink spooling into a directory (`memoryBytes` of it in memory) while the server is
    /// stopped, abandoned as a killed daemon's: its run cancelled, nothing stopped in order.
    /// `left` checks it and its directory's files then. A second sink on that directory with
    /// the server back writes every event once, and the files go.
    func writeWhatAKilledRunLeft(memoryBytes: Int, firstPID: Int32, left: (FleetSink, [String]) throws -> Void) async throws {
        try await TestPostgres.with { server in
            let database = try server.createDatabase()
            let directory = "/tmp/procwatch-spool-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            defer { _ = try? Spawn.run(["/bin/rm", "-rf", directory]) }
            let fleet = try connector(server, database)
            try server.stop()
            let limits = FleetSpoolLimits(memoryBytes: memoryBytes, directory: directory)
            let first = FleetSink(connector: fleet, host: host, session: session, limits: limits, logger: logger)
            await #expect(throws: FleetError.self) { try await first.start() }
            let abandoned = Task { await first.run() }
            let workload = Workload(firstPID: firstPID)
            workload.feed(sink: first, rounds: 5)
            #expect(await eventually(timeout: .seconds(10)) { first.status.waitingEvents == workload.produced })
            abandoned.cancel()  // never finished: as after kill -9, only what is in files stays
            await abandoned.value
            try left(first, try FileManager.default.contentsOfDirectory(atPath: directory))
            try server.start()
            let second = FleetSink(connector: fleet, host: host, session: session, limits: limits, logger: logger)
            try await second.start()
            let running = Task { await second.run() }
            #expect(await second.finish(reason: "signal", waitingUpTo: 30) == 0)
            await running.value
            #expect(try count(server, database, "SELECT count(*) FROM procwatch.events") == workload.produced)
            #expect(try count(server, database, "SELECT count(*) FROM procwatch.processes") == workload.produced / 3)
            #expect(try count(server, database, "SELECT count(*) FROM procwatch.recordings") == 2)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == [])
        }
    }

    @Test func spoolFilesOfARunThatNeverFinishedAreWrittenAtTheNextStart() async throws {
        // Nothing in memory: every batch goes to a file at once, as under a long outage.
        try await writeWhatAKilledRunLeft(memoryBytes: 0, firstPID: 300_000) { first, _ in
            #expect(first.status.spooledFileBytes > 0)
        }
    }

    @Test func batchesInMemoryOfAKilledRunAreWrittenAtTheNextStart() async throws {
        // Room in memory for every batch: none goes to a spool file proper, each to the journal.
        try await writeWhatAKilledRunLeft(memoryBytes: 64 << 20, firstPID: 350_000) { first, files in
            #expect(first.status.spooledFileBytes == 0)
            #expect(first.status.spooledMemoryBytes > 0)
            #expect(files == ["000000000001.spool"])
        }
    }

    @Test func dayPartitionsAreNamedByUTCDay() {
        #expect(FleetPartitions.name(day: 0) == "19700101")
        #expect(FleetPartitions.name(day: 19_782) == "20240229")
        #expect(FleetPartitions.name(day: 20_428) == "20251206")
        #expect(FleetPartitions.day(unixNanoseconds: 20_428 * 86_400 * 1_000_000_000 + 86_399_999_999_999) == 20_428)
        #expect(FleetPartitions.day(unixNanoseconds: -1) == -1)
    }

    @Test func retentionDropsWholeOldDaysAndOldRows() async throws {
        try await TestPostgres.with { server in
            let database = try server.createDatabase()
            let now = StoreClock.unixNanoseconds()
            let today = FleetPartitions.day(unixNanoseconds: now)
            try await connector(server, database).withConnection { connection in
                _ = try await FleetSchema.prepare(connection, server: "s", procwatchVersion: "t", logger: logger)
                try await FleetPartitions.ensure(connection, today: today - 10, logger: logger)
                try await FleetPartitions.ensure(connection, today: today, logger: logger)
            }
            let old = (today - 11...today - 8).map { "events_" + FleetPartitions.name(day: $0) }
            try server.psql("""
                INSERT INTO procwatch.batches (recording, seq, host, events, written) VALUES
                  ('00000000-0000-0000-0000-000000000001', 1, 1, 0, now() - interval '5 days'),
                  ('00000000-0000-0000-0000-000000000001', 2, 1, 0, now())
                """, database: database)
            let dropped = try await connector(server, database).withConnection { connection in
                try await FleetRetention.run(connection, keep: .seconds(2 * 86_400), now: now, logger: logger)
            }
            #expect(dropped == old)
            #expect(try count(server, database, "SELECT count(*) FROM pg_tables WHERE schemaname = 'procwatch' AND tablename ~ '^events_[0-9]{8}$'") == 4)
            #expect(try server.psql("SELECT seq FROM procwatch.batches", database: database) == "2")
        }
    }
}

extension FleetSinkTests.Workload {
    /// `rounds` times 20 processes, 150 ms apart (several batches).
    func feed(sink: FleetSink, rounds: Int) {
        for _ in 0..<rounds {
            feed(sink, processes: 20)
            usleep(150_000)
        }
    }
}
