import CProcWatch
import Glibc
import Netlink
import Testing

@Suite("Netlink framing")
struct NetlinkFramingTests {
    func messages(_ bytes: [UInt8]) -> [Result<NetlinkMessage, NetlinkFramingError>] {
        bytes.withUnsafeBytes { raw in
            // Payload buffers point into `bytes`; copy out what the assertions need.
            Array(NetlinkMessages(raw))
        }
    }

    @Test func encodesHeaderAndPadsToFourBytes() {
        let message = NetlinkMessage.encode(type: 0x10, flags: 0x5, sequence: 7, portID: 99, payload: [1, 2, 3])
        #expect(message == [19, 0, 0, 0, 0x10, 0, 0x5, 0, 7, 0, 0, 0, 99, 0, 0, 0, 1, 2, 3, 0])
    }

    @Test func splitsSeveralMessagesAndHonoursAlignment() {
        let first = NetlinkMessage.encode(type: 3, flags: 0, sequence: 1, payload: [0xAA, 0xBB, 0xCC])  // 19 → 20
        let second = NetlinkMessage.encode(type: 1, flags: 2, sequence: 2, payload: [])
        first.withUnsafeBytes { _ in }
        let bytes = first + second
        bytes.withUnsafeBytes { raw in
            let parsed = Array(NetlinkMessages(raw))
            #expect(parsed.count == 2)
            guard case .success(let a) = parsed[0], case .success(let b) = parsed[1] else {
                Issue.record("\(parsed)")
                return
            }
            #expect(a.type == 3 && a.sequence == 1 && Array(a.payload) == [0xAA, 0xBB, 0xCC])
            #expect(b.type == 1 && b.flags == 2 && b.sequence == 2 && b.payload.isEmpty)
        }
    }

    @Test func lastMessageWithoutPaddingIsAccepted() {
        // The kernel may end a datagram right after an unpadded message.
        let bytes = Array(NetlinkMessage.encode(type: 3, flags: 0, sequence: 1, payload: [1]).prefix(17))
        bytes.withUnsafeBytes { raw in
            let parsed = Array(NetlinkMessages(raw))
            #expect(parsed.count == 1)
            if case .success(let message) = parsed[0] { #expect(Array(message.payload) == [1]) }
        }
    }

    @Test func reportsShortHeadersAndBadLengths() {
        #expect(messages([1, 2, 3, 4, 5, 6, 7, 8]).count == 1)
        [UInt8]([1, 2, 3, 4, 5, 6, 7, 8]).withUnsafeBytes { raw in
            #expect(Array(NetlinkMessages(raw)).map { (try? $0.get()) == nil } == [true])
        }
        var tooLong = NetlinkMessage.encode(type: 3, flags: 0, sequence: 0, payload: [0, 0, 0, 0])
        tooLong[0] = 40
        tooLong.withUnsafeBytes { raw in
            let parsed = Array(NetlinkMessages(raw))
            guard case .failure(let error) = parsed.first else { Issue.record("\(parsed)"); return }
            #expect(error == .badLength(offset: 0, length: 40, remaining: 20))
        }
        var tooShort = NetlinkMessage.encode(type: 3, flags: 0, sequence: 0, payload: [])
        tooShort[0] = 4
        tooShort.withUnsafeBytes { raw in
            guard case .failure(let error) = Array(NetlinkMessages(raw)).first else { Issue.record("no error"); return }
            #expect(error == .badLength(offset: 0, length: 4, remaining: 16))
        }
    }

    @Test func errorMessagesCarryTheirCode() {
        var payload: [UInt8] = []
        payload.append(integer: Int32(-1))
        let bytes = NetlinkMessage.encode(type: NetlinkMessage.error, flags: 0, sequence: 0, payload: payload)
        bytes.withUnsafeBytes { raw in
            guard case .success(let message) = Array(NetlinkMessages(raw)).first else { Issue.record("no message"); return }
            #expect(message.errorCode == -1)
        }
    }

    @Test func attributesRoundTripAndStopAtTruncation() {
        let bytes = NetlinkAttributes.encode(type: 1, value: Array("TASKSTATS\0".utf8))
            + NetlinkAttributes.encode(type: 0x8000 | 2, value: [1, 0, 0, 0])
        #expect(bytes.count == 16 + 8)
        bytes.withUnsafeBytes { raw in
            let attributes = Array(NetlinkAttributes(raw))
            #expect(attributes.map(\.type) == [1, 2])  // NLA_F_NESTED stripped
            #expect(Array(attributes[0].value) == Array("TASKSTATS\0".utf8))
            #expect(attributes[1].value.read(UInt32.self, at: 0) == 1)
        }
        Array(bytes.prefix(20)).withUnsafeBytes { raw in
            #expect(Array(NetlinkAttributes(raw)).count == 1)
        }
    }

    @Test func unalignedReadsAreBoundsChecked() {
        let bytes: [UInt8] = [0, 1, 2, 3, 4, 5, 6, 7, 8]
        bytes.withUnsafeBytes { raw in
            #expect(raw.read(UInt64.self, at: 1) == 0x0807_0605_0403_0201)
            #expect(raw.read(UInt64.self, at: 2) == nil)
            #expect(raw.read(UInt32.self, at: -1) == nil)
        }
    }

    @Test func batchFillMarksTruncation() {
        let batch = DatagramBatch(capacity: 2, slotSize: 8)
        batch.fill(with: [[1, 2, 3], Array(0..<12)])
        #expect(batch.count == 2)
        #expect(Array(batch.datagram(0)) == [1, 2, 3])
        #expect(!batch.isTruncated(0))
        #expect(Array(batch.datagram(1)) == Array(0..<8))
        #expect(batch.isTruncated(1))
    }
}

@Suite("Netlink socket against the kernel")
struct NetlinkSocketTests {
    @Test func bindsSendsAndReceivesTheKernelsAnswer() throws {
        // A generic netlink CTRL_CMD_GETFAMILY for "nlctrl" is answered by the kernel itself.
        let socket = try NetlinkSocket(netlinkProtocol: NETLINK_GENERIC)
        defer { socket.close() }
        #expect(socket.portID != 0)
        var payload: [UInt8] = [3, 1, 0, 0]  // genlmsghdr: CTRL_CMD_GETFAMILY, version 1
        payload += NetlinkAttributes.encode(type: 2, value: Array("nlctrl\0".utf8))  // CTRL_ATTR_FAMILY_NAME
        try socket.send(NetlinkMessage.encode(type: 0x10, flags: 1, sequence: 42, payload: payload))  // GENL_ID_CTRL, NLM_F_REQUEST
        let batch = DatagramBatch(capacity: 4, slotSize: 8192)
        let outcome = try socket.receive(into: batch, timeout: .seconds(2))
        #expect(outcome == .datagrams(1))
        let datagram = batch.datagram(0)
        let messages = Array(NetlinkMessages(datagram))
        guard case .success(let answer) = messages.first else { Issue.record("\(messages)"); return }
        #expect(answer.type == 0x10)
        #expect(answer.sequence == 42)
        #expect(answer.portID == socket.portID)
    }

    @Test func receiveTimesOutAndWakes() throws {
        let socket = try NetlinkSocket(netlinkProtocol: NETLINK_GENERIC)
        defer { socket.close() }
        let batch = DatagramBatch(capacity: 1)
        #expect(try socket.receive(into: batch, timeout: .milliseconds(20)) == .timedOut)
        socket.wake()
        #expect(try socket.receive(into: batch, timeout: .seconds(5)) == .woken)
    }

    @Test func receiveBufferCanBeForcedAsRoot() throws {
        try #require(getuid() == 0)
        let socket = try NetlinkSocket(netlinkProtocol: NETLINK_GENERIC)
        defer { socket.close() }
        // The kernel doubles the request for bookkeeping; forced past rmem_max as root.
        #expect(socket.setReceiveBufferSize(8 << 20) == 16 << 20)
        #expect(socket.droppedMessages() == 0)
    }

    @Test func errorsKeepTheirErrno() {
        #expect(throws: NetlinkError(call: "socket", errno: .protocolNotSupported)) {
            try NetlinkSocket(netlinkProtocol: 99)
        }
    }
}
