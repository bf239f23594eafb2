import Netlink
import Testing
@testable import ProcWatch

/// Datagrams the kernel should never send, and a few it may: none may crash or be trusted.
@Suite("Decoding malformed and unusual datagrams")
struct MalformedDatagramTests {
    @Test func truncatedAtEveryLength() {
        let full = GoldenDatagrams.exitCode3
        for length in 0..<full.count {
            let messages = ProcEventDecoder.decode(Array(full.prefix(length)))
            if length == 0 {
                #expect(messages.isEmpty)
                continue
            }
            #expect(messages.count == 1, "length \(length)")
            guard case .malformed = messages.first else {
                Issue.record("length \(length) decoded as \(messages)")
                continue
            }
        }
    }

    @Test func truncatedByTheKernelIsReported() {
        var reported: [ConnectorMessage] = []
        GoldenDatagrams.exec.withUnsafeBytes { bytes in
            ProcEventDecoder.decode(bytes, truncated: true) { reported.append($0) }
        }
        #expect(reported == [.malformed(.truncatedDatagram(length: 76))])
    }

    @Test func declaredLengthShorterThanTheEventIsTooShort() {
        var datagram = GoldenDatagrams.exitCode3
        datagram[32] = 20  // cn_msg.len = 20: header (16) + 4 bytes of exit data
        #expect(ProcEventDecoder.decode(datagram) == [.malformed(.tooShort(what: "exit event", needed: 40, available: 20))])
    }

    @Test func oversizedMessageDecodesItsEventAndIgnoresTheTail() {
        // nlmsg_len and cn_msg.len both claim 16 more bytes of (garbage) event data.
        var datagram = GoldenDatagrams.forkProcess + [UInt8](repeating: 0xAB, count: 16)
        datagram[0] = 92
        datagram[32] = 56
        let messages = ProcEventDecoder.decode(datagram)
        #expect(messages.count == 1)
        guard case .event(let event) = messages.first else { Issue.record("\(messages)"); return }
        #expect(event.detail == .fork(parent: TaskID(pid: 2328, tid: 2328), child: TaskID(pid: 2329, tid: 2329)))
    }

    @Test func cnMsgLengthPastTheDatagramIsClamped() {
        var datagram = GoldenDatagrams.exec
        datagram[32] = 0xFF  // claims 255 bytes of data; only 40 are there
        let messages = ProcEventDecoder.decode(datagram)
        guard case .event(let event) = messages.first else { Issue.record("\(messages)"); return }
        #expect(event.detail == .exec(TaskID(pid: 2331, tid: 2331)))
    }

    @Test func nlmsgLengthPastTheDatagramIsBadFraming() {
        var datagram = GoldenDatagrams.exec
        datagram[0] = 200
        #expect(ProcEventDecoder.decode(datagram) == [.malformed(.badFraming(offset: 0))])
        datagram[0] = 8  // below the 16-byte header
        #expect(ProcEventDecoder.decode(datagram) == [.malformed(.badFraming(offset: 0))])
    }

    @Test func misalignedBuffersDecodeTheSame() {
        // The timestamp sits at byte 44 of a datagram: never 8-aligned. Shift the whole
        // datagram by 1...7 bytes as well and decode from there.
        let reference = ProcEventDecoder.decode(GoldenDatagrams.coredump)
        for shift in 1..<8 {
            let padded = [UInt8](repeating: 0, count: shift) + GoldenDatagrams.coredump
            padded.withUnsafeBytes { bytes in
                var decoded: [ConnectorMessage] = []
                ProcEventDecoder.decode(UnsafeRawBufferPointer(rebasing: bytes[shift...])) { decoded.append($0) }
                #expect(decoded == reference, "shift \(shift)")
            }
        }
    }

    @Test func severalMessagesInOneDatagram() {
        let datagram = GoldenDatagrams.forkProcess + GoldenDatagrams.exec + GoldenDatagrams.exitCode3
        let messages = ProcEventDecoder.decode(datagram)
        #expect(messages.count == 3)
        let names = messages.compactMap { message -> String? in
            if case .event(let event) = message { return event.name }
            return nil
        }
        #expect(names == ["fork", "exec", "exit"])
    }

    @Test func goodMessageThenGarbageKeepsTheGoodOne() {
        let datagram = GoldenDatagrams.exec + [0x05, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06]
        let messages = ProcEventDecoder.decode(datagram)
        #expect(messages.count == 2)
        #expect(messages.last == .malformed(.badFraming(offset: 76)))
    }

    @Test func unknownKindIsSurfacedWithItsBytes() {
        var datagram = GoldenDatagrams.exec
        datagram[36] = 0x00
        datagram[37] = 0x04  // what = 0x400, the "next" kind the kernel header reserves
        let messages = ProcEventDecoder.decode(datagram)
        guard case .event(let event) = messages.first else { Issue.record("\(messages)"); return }
        #expect(event.detail == .unknown(what: 0x400, data: Array(GoldenDatagrams.exec[52..<76])))
        #expect(event.kind == .unknown)
    }

    @Test func foreignConnectorMessage() {
        var datagram = GoldenDatagrams.exec
        datagram[16] = 2  // CN_IDX_CIFS
        #expect(ProcEventDecoder.decode(datagram) == [.malformed(.foreignConnector(index: 2, value: 1))])
    }

    @Test func netlinkErrorAndNoop() {
        var error: [UInt8] = []
        error.append(integer: Int32(-111))  // -ECONNREFUSED
        error += [UInt8](repeating: 0, count: 16)  // the offending request's header
        let errorMessage = NetlinkMessage.encode(type: NetlinkMessage.error, flags: 0, sequence: 0, payload: error)
        let noop = NetlinkMessage.encode(type: NetlinkMessage.noop, flags: 0, sequence: 0, payload: [])
        #expect(ProcEventDecoder.decode(errorMessage) == [.netlinkError(-111)])
        #expect(ProcEventDecoder.decode(noop).isEmpty)
        #expect(ProcEventDecoder.decode(noop + GoldenDatagrams.exec).count == 1)
        let overrun = NetlinkMessage.encode(type: NetlinkMessage.overrun, flags: 0, sequence: 0, payload: [])
        #expect(ProcEventDecoder.decode(overrun) == [.overrun])
        let other = NetlinkMessage.encode(type: 0x10, flags: 0, sequence: 0, payload: [])
        #expect(ProcEventDecoder.decode(other) == [.malformed(.unexpectedType(0x10))])
    }

    @Test func commWithoutTerminatorAndInvalidUTF8() {
        var datagram = GoldenDatagrams.comm
        for index in 60..<76 { datagram[index] = 0x41 }  // 16 x "A", no NUL
        datagram[60] = 0xFF
        guard case .event(let event) = ProcEventDecoder.decode(datagram).first,
              case .comm(_, let name) = event.detail else { Issue.record("no comm"); return }
        #expect(name == "\u{FFFD}" + String(repeating: "A", count: 15))
    }
}
