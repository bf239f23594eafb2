import Foundation
import Logging
import PostgresNIO
import ProcWatch
import ProcWatchStore

/// The sink's own batch writer (``BatchWriter``) with either way of sending `events` rows,
/// for `fleet-bench` in Benchmarks/, which measured COPY against multi-row INSERT and chose
/// COPY (see the README). Not an API: SPI for the benchmark only.
@_spi(Benchmarks) public enum FleetWriteBenchmark {
    /// ``BatchWriter/Method``'s names: `copy`, `insert`.
    public static let methods: [String] = BatchWriter.Method.allCases.map(\.rawValue)

    /// Batches as the sink seals them under a fork storm: `events` rows each, a fork, an exec
    /// (with a command line and executable) and an exit per process, of one recording;
    /// with `processRows`, also the batch's changed `processes` rows (as the sink writes
    /// them), without, the `events` rows alone.
    public struct Batches: Sendable {
        let batches: [FleetBatch]
        /// The `events` rows of all the batches.
        public var eventRows: Int { batches.reduce(0) { $0 + $1.eventCount } }
        /// The `processes` rows of all the batches.
        public var processRows: Int { batches.reduce(0) { $0 + $1.processes.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } } }
        /// The COPY text's bytes of all the batches (what either way sends, near enough).
        public var bytes: Int { batches.reduce(0) { $0 + $1.events.count + $1.processes.count } }

        public init(count: Int, events: Int, processRows: Bool) {
            var encoder = BatchEncoder(session: RecordingSession(arguments: ["daemon"], command: nil, filters: nil, taskstats: false),
                                       bootID: "fleet-bench")
            var pid: Int32 = 1000
            var made: [FleetBatch] = []
            for _ in 0..<count {
                var written = 0
                while written < events {
                    pid = pid >= 4_000_000 ? 1000 : pid + 1
                    let task = TaskID(pid: pid, tid: pid)
                    let parent = TaskID(pid: 999, tid: 999)
                    let record = ProcessRecord(pid: pid, parentPID: 999, name: "true", commandLine: ["/bin/true", "--an-argument", "\(pid)"],
                                               executable: "/usr/bin/true", uid: 0, startNanoseconds: nil, endNanoseconds: nil)
                    let details: [ProcessEvent.Detail] = [
                        .fork(parent: parent, child: task), .exec(task), .exit(task, waitStatus: 0, exitSignal: 17, parent: parent),
                    ]
                    for detail in details.prefix(events - written) {
                        encoder.record(EnrichedEvent(event: ProcessEvent(detail: detail, timestamp: .now), process: record), stored: true)
                        written += 1
                    }
                }
                var batch = encoder.take()!.encode()
                if !processRows { batch.processes = [] }
                made.append(batch)
            }
            batches = made
        }
    }

    /// What went wrong in a measurement.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Prepares the database `url` names (no password: a `trust` server) (the fleet schema, a host, today's partitions)
    /// and EMPTIES its procwatch tables (give it a database of its own), then writes `batches`
    /// with `method` as the sink does, one transaction each, checks that `events` holds
    /// exactly their rows, and returns the time the writes took (preparation and check not
    /// counted).
    public static func write(_ batches: Batches, method: String, url: String) async throws -> Duration {
        guard let method = BatchWriter.Method(rawValue: method) else { throw Failure(description: "no method \(method)") }
        var logger = Logger(label: "fleet-bench")
        logger.logLevel = .warning
        let connector = FleetConnector(url: try FleetURL(parsing: url, environment: [:]), password: nil, logger: logger)
        return try await connector.withConnection { connection in
            _ = try await FleetSchema.prepare(connection, server: connector.url.redacted, procwatchVersion: "fleet-bench", logger: logger)
            try await connection.query("""
                TRUNCATE procwatch.events, procwatch.processes, procwatch.batches, procwatch.recordings, procwatch.jobs
                """, logger: logger)
            let host = try await LocalMachine(machineID: "fleet-bench", bootID: "fleet-bench", name: "fleet-bench", kernel: "",
                                              procwatchVersion: "fleet-bench").register(connection, logger: logger)
            try await FleetPartitions.ensure(connection, today: FleetPartitions.day(unixNanoseconds: StoreClock.unixNanoseconds()), logger: logger)
            let writer = BatchWriter(host: host, method: method, logger: logger)
            let start = ContinuousClock.now
            for batch in batches.batches {
                guard try await writer.write(batch, on: connection) else {
                    throw Failure(description: "batch \(batch.sequence) was written before")
                }
            }
            let elapsed = ContinuousClock.now - start
            let rows = try await connection.query("SELECT count(*) FROM procwatch.events", logger: logger).collect()
            let count = try rows[0].decode(Int.self)
            guard count == batches.eventRows else {
                throw Failure(description: "\(method.rawValue) wrote \(count) events rows of \(batches.eventRows)")
            }
            return elapsed
        }
    }
}
