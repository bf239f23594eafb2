import Netlink
import Testing
@testable import ProcWatch

/// `struct taskstats` of every version decodes to the same fields (Fixtures/GoldenTaskstats.swift).
@Suite("Decoding taskstats records")
struct TaskstatsDecodingTests {
    func decode(_ bytes: [UInt8]) -> TaskstatsRecord {
        bytes.withUnsafeBytes { TaskstatsRecord(id: 674, isProcessTotal: false, bytes: $0) }
    }

    @Test func version16AsTheRunningKernelSendsIt() {
        let record = decode(GoldenTaskstats.version16)
        #expect(GoldenTaskstats.version16.count == 560)
        #expect(record.version == 16)
        #expect(record.name == "golden")
        #expect(record.pid == 674)
        #expect(record.parentPID == 633)
        #expect(record.exitCode == 768)
        #expect(record.uid == 0 && record.gid == 0)
        #expect(record.elapsedMicroseconds == 478)
        #expect(record.userMicroseconds == 0 && record.systemMicroseconds == 0)
    }

    @Test func version13IsThePrefixTheHeadersKnow() {
        var bytes = Array(GoldenTaskstats.version16.prefix(416))
        bytes[0] = 13
        let record = decode(bytes)
        var expected = decode(GoldenTaskstats.version16)
        expected.version = 13
        #expect(record == expected)
    }

    @Test func olderShorterRecordsLeaveTheMissingFieldsZero() {
        var bytes = Array(GoldenTaskstats.version16.prefix(128))  // up to ac_pid's start
        bytes[0] = 3
        let record = decode(bytes)
        #expect(record.version == 3)
        #expect(record.exitCode == 768)
        #expect(record.name == "golden")
        #expect(record.pid == 0 && record.elapsedMicroseconds == 0 && record.peakRSSKiB == 0)
    }

    @Test func aggregateAttributesNestPidAndStats() {
        var pid: [UInt8] = []
        pid.append(integer: Int32(674))
        let inner = NetlinkAttributes.encode(type: 1, value: pid) + NetlinkAttributes.encode(type: 3, value: GoldenTaskstats.version16)
        var tgid: [UInt8] = []
        tgid.append(integer: Int32(670))
        let process = NetlinkAttributes.encode(type: 2, value: tgid) + NetlinkAttributes.encode(type: 3, value: GoldenTaskstats.version16)
        let message = NetlinkAttributes.encode(type: 4, value: inner) + NetlinkAttributes.encode(type: 5, value: process)
            + NetlinkAttributes.encode(type: 6, value: [])
        let records = message.withUnsafeBytes { TaskstatsRecord.decode(attributes: $0) }
        #expect(records.map(\.id) == [674, 670])
        #expect(records.map(\.isProcessTotal) == [false, true])
        #expect(records.allSatisfy { $0.name == "golden" })
        // Cut inside the second aggregate: the first still decodes, nothing is read past the end.
        let cut = Array(message.prefix(inner.count + 4 + 40))
        #expect(cut.withUnsafeBytes { TaskstatsRecord.decode(attributes: $0) }.map(\.id) == [674])
    }
}
