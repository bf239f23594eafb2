import Foundation
import Logging
import Testing
@testable import ProcWatch
@testable import ProcWatchFleet
import ProcWatchStore

/// COPY against multi-row INSERT for the `events` rows, into the same local server in the
/// same run: the sink writes by COPY because it is the faster (the figures are printed; the
/// README quotes a run). Both must write exactly the rows they were given.
@Suite(.serialized, .enabled(if: TestPostgres.isAvailable, "needs PostgreSQL and root"))
struct FleetWriteMethodTests {
    let logger = Logger(label: "test")

    /// `batches` batches of `events` exec events each (with their processes), of recording `recording`.
    static func batches(_ count: Int, events: Int) -> [FleetBatch] {
        var encoder = BatchEncoder(session: RecordingSession(arguments: [], command: nil, filters: nil, taskstats: false), bootID: "b")
        var pid: Int32 = 1000
        return (0..<count).map { _ in
            for _ in 0..<events {
                pid += 1
                let record = ProcessRecord(pid: pid, parentPID: 1, name: "true", commandLine: ["/bin/true", "an argument", "\(pid)"],
                                           executable: "/usr/bin/true", uid: 0, startNanoseconds: nil, endNanoseconds: nil)
                encoder.record(EnrichedEvent(event: ProcessEvent(detail: .exec(TaskID(pid: pid, tid: pid)), timestamp: .now), process: record),
                               stored: true)
            }
            return encoder.take()!.encode()
        }
    }

    @Test(.disabled("a timing, which belongs in a benchmark (scripts/bench-fleet), not in the tests")) func copyIsTheFasterWayToWriteEvents() async throws {
        try await TestPostgres.with { server in
            var rates: [BatchWriter.Method: [Double]] = [:]
            for repetition in 0..<3 {
                for method in BatchWriter.Method.allCases {
                    let database = try server.createDatabase()
                    let connector = FleetConnector(url: try FleetURL(parsing: server.url(database: database), environment: [:]),
                                                   password: TestPostgres.password, logger: logger)
                    let batches = Self.batches(10, events: 5000)
                    let seconds = try await connector.withConnection { connection in
                        _ = try await FleetSchema.prepare(connection, server: "s", procwatchVersion: "t", logger: logger)
                        let host = try await LocalMachine(machineID: "m", bootID: "b", name: "n", kernel: "k", procwatchVersion: "t")
                            .register(connection, logger: logger)
                        try await FleetPartitions.ensure(connection, today: FleetPartitions.day(unixNanoseconds: StoreClock.unixNanoseconds()), logger: logger)
                        let writer = BatchWriter(host: host, method: method, logger: logger)
                        let start = ContinuousClock.now
                        for batch in batches { #expect(try await writer.write(batch, on: connection)) }
                        let elapsed = ContinuousClock.now - start
                        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                    }
                    #expect(try server.psql("SELECT count(*) FROM procwatch.events", database: database) == "50000")
                    #expect(try server.psql("SELECT count(DISTINCT cmdline->>2) FROM procwatch.events", database: database) == "50000")
                    rates[method, default: []].append(50_000 / seconds)
                    print("fleet write \(method.rawValue) repetition \(repetition): \(Int(50_000 / seconds)) events/s")
                }
            }
            let median = rates.mapValues { $0.sorted()[1] }
            print("fleet write median events/s: copy \(Int(median[.copy]!)), insert \(Int(median[.insert]!))")
            #expect(median[.copy]! > median[.insert]!)
        }
    }
}
