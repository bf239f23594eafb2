import ArgumentParser
import Foundation
@_spi(Benchmarks) import ProcWatchFleet

/// `fleet-bench`: the fleet sink's batch writer sending the same batches into PostgreSQL by
/// `COPY … FROM STDIN` and by multi-row `INSERT` (1000 rows a statement), the two ways
/// interleaved (copy first in even repetitions, insert first in odd ones) so that a noisy
/// machine weighs on both alike. Each measurement empties the database's procwatch tables,
/// writes the batches one transaction each (as the sink does: the `batches` claim, the
/// rows, the host's `last_event`) and checks the row count afterwards.
///
/// Prints every measurement, then per batch size and kind: the median rows/s of each way and
/// the median (and range) of the per-repetition ratio copy/insert. With `--json`, writes them.
@main
struct FleetBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet-bench",
        abstract: "COPY against multi-row INSERT for the fleet sink's batches, interleaved, into one PostgreSQL.")

    @Option(help: "The database to write into (EMPTIED each measurement), a trust server: postgresql://user@host:port/db")
    var url: String

    @Option(help: "Events rows per batch (repeat the option for several sizes).")
    var batchEvents: [Int] = [1_000, 10_000]

    @Option(help: "Events rows per measurement (batches = rows / batch size).")
    var rows = 50_000

    @Option(help: "Repetitions of each pair of measurements.")
    var repetitions = 5

    @Option(help: "Write the results as JSON to this file.")
    var json: String?

    func run() async throws {
        var results: [String] = []
        for batchEvents in batchEvents {
            for processRows in [false, true] {
                let kind = processRows ? "events+processes" : "events"
                let batches = FleetWriteBenchmark.Batches(count: max(1, rows / batchEvents), events: batchEvents, processRows: processRows)
                var rates: [String: [Double]] = [:]
                var ratios: [Double] = []
                for repetition in 0..<repetitions {
                    let order = repetition % 2 == 0 ? FleetWriteBenchmark.methods : FleetWriteBenchmark.methods.reversed()
                    var pair: [String: Double] = [:]
                    for method in order {
                        let elapsed = try await FleetWriteBenchmark.write(batches, method: method, url: url)
                        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                        let rate = Double(batches.eventRows) / seconds
                        pair[method] = rate
                        rates[method, default: []].append(rate)
                        say("batch \(batchEvents) \(kind) repetition \(repetition) \(method): \(batches.eventRows) rows in "
                              + String(format: "%.3f s, %.0f rows/s", seconds, rate))
                    }
                    ratios.append(pair["copy"]! / pair["insert"]!)
                }
                let copy = median(rates["copy"]!), insert = median(rates["insert"]!)
                let ratio = median(ratios)
                say("batch \(batchEvents) \(kind): " + String(format: "copy %.0f rows/s, insert %.0f rows/s (medians of %d); copy/insert %.2f (range %.2f–%.2f); %d processes rows, %d COPY-text bytes per measurement",
                             copy, insert, repetitions, ratio, ratios.min()!, ratios.max()!,
                             batches.processRows, batches.bytes))
                results.append("""
                    {"batch_events":\(batchEvents),"kind":"\(kind)","rows":\(batches.eventRows),"process_rows":\(batches.processRows),\
                    "bytes":\(batches.bytes),"copy_rows_per_s":\(Int(copy)),"insert_rows_per_s":\(Int(insert)),\
                    "ratio_median":\(String(format: "%.3f", ratio)),"ratio_min":\(String(format: "%.3f", ratios.min()!)),\
                    "ratio_max":\(String(format: "%.3f", ratios.max()!)),"repetitions":\(repetitions)}
                    """)
            }
        }
        if let json {
            try ("[" + results.joined(separator: ",\n") + "]\n").write(toFile: json, atomically: true, encoding: .utf8)
        }
    }

    /// A line on standard output at once (print's buffer would hold it back through a pipe).
    private func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    private func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}
