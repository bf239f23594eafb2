import Testing
@testable import ProcWatch

/// The one accounting sum (no kernel).
@Suite("Resource usage")
struct ResourceUsageTests {
    func record(user: UInt64, system: UInt64, rss: UInt64, read: UInt64, written: UInt64) -> TaskstatsRecord {
        var record = GoldenTaskstats.version16.withUnsafeBytes { TaskstatsRecord(id: 51, isProcessTotal: false, bytes: $0) }
        record.userMicroseconds = user
        record.systemMicroseconds = system
        record.peakRSSKiB = rss
        record.readBytes = read
        record.writeBytes = written
        record.readChars = read * 2
        record.writeChars = written * 2
        return record
    }

    @Test func cpuAndIOAddUpWhilePeakMemoryIsTheLargest() {
        var usage = ResourceUsage()
        #expect(!usage.isAccounted)
        usage.add(record(user: 1_000, system: 500, rss: 4_000, read: 10, written: 20))
        usage.add(record(user: 2_000, system: 0, rss: 3_000, read: 1, written: 2))
        #expect(usage.isAccounted && usage.recordCount == 2)
        #expect(usage.userMicroseconds == 3_000 && usage.systemMicroseconds == 500 && usage.cpuMicroseconds == 3_500)
        #expect(usage.cpuSeconds == 0.0035)
        #expect(usage.peakRSSKiB == 4_000)
        #expect(usage.readBytes == 11 && usage.writeBytes == 22 && usage.readChars == 22 && usage.writeChars == 44)
    }

    @Test func mergingIsTheSameAsAddingEveryRecordToOne() {
        let records = [record(user: 1, system: 2, rss: 30, read: 4, written: 5), record(user: 6, system: 7, rss: 80, read: 9, written: 10),
                       record(user: 11, system: 12, rss: 13, read: 14, written: 15)]
        var whole = ResourceUsage()
        for record in records { whole.add(record) }
        let parts = records.map(ResourceUsage.init)
        #expect(ResourceUsage(summing: parts) == whole)
        #expect(parts[0] + parts[1] + parts[2] == whole)
        var merged = parts[0]
        merged += parts[1] + parts[2]
        #expect(merged == whole)
        #expect(ResourceUsage(summing: []) == ResourceUsage())
    }
}
