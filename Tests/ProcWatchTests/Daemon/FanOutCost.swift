import Foundation
import Glibc
import ProcWatch
@testable import ProcWatchDaemon
import Testing

/// Not a unit test: measures the hub's CPU per event per connected client, with 100
/// clients of `scripts/fanout-clients` (another process) reading as fast as they can.
/// `PROCWATCH_MEASURE_FANOUT=1 swift test --filter FanOutCost`; prints the figures.
/// First run (debug build, 2 cores shared, 2^20 events in batches of 64): 0.97 µs per
/// event per client when every client takes every event, 1.35 µs when each takes half.
@Suite("Fan-out cost", .serialized, .enabled(if: ProcessInfo.processInfo.environment["PROCWATCH_MEASURE_FANOUT"] != nil))
struct FanOutCost {
    static let clients = 100
    static let batches = 16_384
    static let batchSize = 64

    /// Every client takes every event: one encoding, one shared buffer per batch.
    @Test func everyClientTakesAll() async throws {
        try await measure(selection: "{}", selectedPerBatch: Self.batchSize)
    }

    /// Every client takes a subset: its lines are copied into its own buffer.
    @Test func everyClientTakesASubset() async throws {
        try await measure(selection: #"{"events":["exec","exit"]}"#, selectedPerBatch: Self.batchSize / 2)
    }

    private func measure(selection: String, selectedPerBatch: Int) async throws {
        let harness = HubHarness(configure: { $0.source = "bpf" })
        try await harness.serve {
            let pool = (0..<16).map { round in
                (0..<Self.batchSize / 4).flatMap { index -> [EnrichedEvent] in
                    let pid = Int32(10_000 + round * 1000 + index)
                    return [HubEvents.fork(pid - 1, pid, "sh", uid: 1000),
                            HubEvents.exec(pid, "cc1", uid: 1000),
                            HubEvents.exit(pid, "cc1", uid: 1000),
                            EnrichedEvent(event: ProcessEvent(detail: .comm(TaskID(pid: pid, tid: pid), name: "cc1"), timestamp: HubEvents.time),
                                          process: HubEvents.process(pid, "cc1", uid: 1000))]
                }
            }
            let expected = Self.batches * selectedPerBatch
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../scripts/fanout-clients").standardized
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", script.path, harness.socketPath, "\(Self.clients)", selection, "\(expected)"]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            #expect(await eventually(timeout: .seconds(30)) { harness.hub.clientCount == Self.clients })
            let before = Self.cpu()
            let start = ContinuousClock.now
            for index in 0..<Self.batches {
                harness.hub.publish(pool[index % pool.count])
                // Keep within the queues: this measures delivery, not dropping.
                if index % 64 == 63 {
                    while await harness.hub.snapshot().clients.contains(where: { $0.pending > 4096 }) {
                        try await Task.sleep(for: .milliseconds(1))
                    }
                }
            }
            process.waitUntilExit()
            let elapsed = ContinuousClock.now - start
            let used = Self.cpu() - before
            let report = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let status = await harness.hub.snapshot()
            let perEventPerClient = used / Double(Self.batches * Self.batchSize * Self.clients) * 1e6
            print("fan-out \(selection): \(Self.clients) clients, \(Self.batches * Self.batchSize) events published, \(expected) to each; "
                + "daemon CPU \(String(format: "%.2f", used)) s in \(elapsed); "
                + "\(String(format: "%.3f", perEventPerClient)) µs per published event per client; "
                + "dropped \(status.clients.map(\.dropped).reduce(0, +)); clients' \(report.split(separator: "\n").last ?? "")")
            #expect(process.terminationStatus == 0)
        }
    }

    /// User plus system CPU of this process (the hub, its loop, the publisher), seconds.
    private static func cpu() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}
