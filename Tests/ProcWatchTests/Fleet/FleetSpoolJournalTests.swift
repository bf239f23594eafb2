import Foundation
import Glibc
import Testing
@testable import ProcWatchFleet

/// The spool's journal of the batches it holds in memory: what a kill -9 leaves for the next
/// start, and no more — while the sink lags for good, the journal files hold about what
/// memory holds, not everything since the sink last caught up.
struct FleetSpoolJournalTests {
    /// A batch of `bytes` bytes of events rows, numbered `sequence`.
    func batch(_ sequence: Int64, bytes: Int) -> FleetBatch {
        FleetBatch(recording: UUID(uuidString: "00000000-0000-4000-8000-000000000001")!, sequence: sequence, eventCount: 1,
                   carriedLoss: 0, newestEvent: nil, start: nil, end: nil, events: [UInt8](repeating: 0x61, count: bytes), processes: [])
    }

    /// The spool files in `directory`, by name.
    func files(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".spool") }.sorted()
    }

    @Test func journalsFollowMemoryHoweverLongTheSinkLags() throws {
        let directory = try TemporaryDirectory()
        var spool = FleetSpool(limits: FleetSpoolLimits(memoryBytes: 64 << 20, directory: directory.path))
        // Batches of 1 MiB of rows (a little more with their record): a journal file takes
        // four, as it is closed once past 4 MiB.
        let size = 1 << 20
        var next: Int64 = 1
        for _ in 0..<10 {
            let appended = spool.append(batch(next, bytes: size))
            #expect(appended)
            next += 1
        }
        #expect(try files(directory.path) == ["000000000001.spool", "000000000002.spool", "000000000003.spool"])
        // A sink that writes one batch as two arrive: memory keeps growing, and so do the
        // journals, but a journal whose batches are all written goes.
        for _ in 0..<10 {
            let appended = [spool.append(batch(next, bytes: size)), spool.append(batch(next + 1, bytes: size))]
            #expect(appended == [true, true])
            next += 2
            let oldest = spool.first()
            #expect(oldest != nil)
            spool.removeFirst()
        }
        // Written: 1…10. Held: 11…30, journaled in 3 (9–12, of which 9 and 10 are written),
        // 4 (13–16), 5, 6, 7 (25–28) and 8 (29, 30): journals 1 and 2 went.
        let oldest = spool.first()
        #expect(oldest?.sequence == 11)
        #expect(try files(directory.path) == (3...8).map { "00000000000\($0).spool" })
        // What a kill -9 now would leave: the next start reads it back, oldest first (9 and 10
        // again: their `batches` claims skip them when written).
        let copy = try TemporaryDirectory()
        for name in try files(directory.path) {
            try FileManager.default.copyItem(atPath: directory.path + "/" + name, toPath: copy.path + "/" + name)
        }
        var restarted = FleetSpool(limits: FleetSpoolLimits(memoryBytes: 64 << 20, directory: copy.path))
        var sequences: [Int64] = []
        while let first = restarted.first() {
            sequences.append(first.sequence)
            restarted.removeFirst()
        }
        #expect(sequences == Array(9...30))
        // Written out: no journal is left.
        while spool.first() != nil { spool.removeFirst() }
        #expect(try files(directory.path) == [])
    }
}
