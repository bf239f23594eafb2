import Netlink

/// Decodes datagrams from a NETLINK_CONNECTOR socket into `ConnectorMessage`s.
///
/// A datagram is one or more netlink messages; a cn_proc message is
/// `nlmsghdr` (16) + `cn_msg` (20) + `proc_event` (40). Nothing is assumed about
/// alignment or length: every field is bounds-checked and read unaligned, and a
/// message that does not add up is reported as `.malformed`, never trusted.
public enum ProcEventDecoder {
    static let connectorHeaderSize = 20
    static let eventHeaderSize = 16

    /// Decodes every message in `datagram` and passes each to `body`, in order.
    ///
    /// - Parameters:
    ///   - datagram: the bytes `recv` returned.
    ///   - truncated: whether the kernel cut the datagram (MSG_TRUNC).
    ///   - unixOffsetNanoseconds: CLOCK_REALTIME minus CLOCK_MONOTONIC, to map kernel
    ///     timestamps to wall-clock time.
    public static func decode(
        _ datagram: UnsafeRawBufferPointer,
        truncated: Bool = false,
        unixOffsetNanoseconds: Int64 = 0,
        _ body: (ConnectorMessage) throws -> Void
    ) rethrows {
        if truncated {
            try body(.malformed(.truncatedDatagram(length: datagram.count)))
            return
        }
        var messages = NetlinkMessages(datagram)
        while let next = messages.next() {
            switch next {
            case .failure(let error):
                switch error {
                case .shortHeader(let offset, _), .badLength(let offset, _, _):
                    try body(.malformed(.badFraming(offset: offset)))
                }
            case .success(let message):
                if let decoded = decode(message: message, unixOffsetNanoseconds: unixOffsetNanoseconds) {
                    try body(decoded)
                }
            }
        }
    }

    /// Decodes every message of a datagram held in an array (convenience for tests and tools).
    public static func decode(_ datagram: [UInt8], unixOffsetNanoseconds: Int64 = 0) -> [ConnectorMessage] {
        var result: [ConnectorMessage] = []
        datagram.withUnsafeBytes { bytes in
            decode(bytes, unixOffsetNanoseconds: unixOffsetNanoseconds) { result.append($0) }
        }
        return result
    }

    /// Decodes one netlink message; nil for NLMSG_NOOP, which carries nothing.
    /// (Inlined with the next one into the loop: returning the large message through memory
    /// twice was a good part of the cost per event.)
    @inline(__always)
    static func decode(message: NetlinkMessage, unixOffsetNanoseconds: Int64) -> ConnectorMessage? {
        switch message.type {
        case NetlinkMessage.noop:
            return nil
        case NetlinkMessage.done:
            break  // the connector sends every message as NLMSG_DONE
        case NetlinkMessage.error:
            guard let code = message.errorCode else {
                return .malformed(.tooShort(what: "nlmsgerr", needed: 4, available: message.payload.count))
            }
            return .netlinkError(code)
        case NetlinkMessage.overrun:
            return .overrun
        default:
            return .malformed(.unexpectedType(message.type))
        }
        let payload = message.payload
        guard payload.count >= connectorHeaderSize else {
            return .malformed(.tooShort(what: "cn_msg", needed: connectorHeaderSize, available: payload.count))
        }
        let index = payload.readUnchecked(UInt32.self, at: 0)
        let value = payload.readUnchecked(UInt32.self, at: 4)
        guard index == 1, value == 1 else { return .malformed(.foreignConnector(index: index, value: value)) }
        let sequence = payload.readUnchecked(UInt32.self, at: 8)
        let acknowledgement = payload.readUnchecked(UInt32.self, at: 12)
        let declared = Int(payload.readUnchecked(UInt16.self, at: 16))
        let available = min(declared, payload.count - connectorHeaderSize)
        let event = UnsafeRawBufferPointer(rebasing: payload[connectorHeaderSize..<(connectorHeaderSize + available)])
        return decode(event: event, sequence: sequence, acknowledgement: acknowledgement,
                      unixOffsetNanoseconds: unixOffsetNanoseconds)
    }

    /// Decodes a `struct proc_event` (the `cn_msg` data).
    @inline(__always)
    static func decode(
        event bytes: UnsafeRawBufferPointer, sequence: UInt32, acknowledgement: UInt32, unixOffsetNanoseconds: Int64
    ) -> ConnectorMessage {
        guard bytes.count >= eventHeaderSize else {
            return .malformed(.tooShort(what: "proc_event", needed: eventHeaderSize, available: bytes.count))
        }
        let what = bytes.readUnchecked(UInt32.self, at: 0)
        let cpu = bytes.readUnchecked(UInt32.self, at: 4)
        let nanoseconds = bytes.readUnchecked(UInt64.self, at: 8)
        let data = UnsafeRawBufferPointer(rebasing: bytes[eventHeaderSize...])

        @inline(__always) func int32(_ offset: Int) -> Int32 { data.readUnchecked(Int32.self, at: offset) }
        @inline(__always) func uint32(_ offset: Int) -> UInt32 { data.readUnchecked(UInt32.self, at: offset) }
        // The kernel's pid/tgid pairs: our TaskID(pid: tgid, tid: pid).
        @inline(__always) func task(_ offset: Int) -> TaskID { TaskID(pid: int32(offset + 4), tid: int32(offset)) }

        if what == 0 {  // PROC_EVENT_NONE: the kernel's answer to LISTEN or IGNORE, 4 bytes of err
            guard data.count >= 4 else {
                return .malformed(.tooShort(what: "ack event", needed: eventHeaderSize + 4, available: bytes.count))
            }
            return .acknowledgement(error: uint32(0), acknowledgement: acknowledgement, cpu: cpu, sequence: sequence)
        }
        let kind = EventKind(what: what)
        guard data.count >= kind.payloadSize else {
            return .malformed(.tooShort(what: "\(kind.name) event", needed: eventHeaderSize + kind.payloadSize,
                                        available: bytes.count))
        }
        // The offsets within each kind's member of struct proc_event's union.
        let detail: ProcessEvent.Detail
        switch kind {
        case .fork: detail = .fork(parent: task(0), child: task(8))
        case .exec: detail = .exec(task(0))
        case .uid: detail = .uid(task(0), real: uint32(8), effective: uint32(12))
        case .gid: detail = .gid(task(0), real: uint32(8), effective: uint32(12))
        case .sid: detail = .sid(task(0))
        case .ptrace: detail = .ptrace(task(0), tracer: task(8))
        case .comm: detail = .comm(task(0), name: commString(UnsafeRawBufferPointer(rebasing: data[8..<24])))
        case .coredump: detail = .coredump(task(0), parent: task(8))
        case .exit: detail = .exit(task(0), waitStatus: uint32(8), exitSignal: int32(12), parent: task(16))
        // `EventKind(what:)` never gives a kind the connector does not send.
        case .unknown, .execFailed: detail = .unknown(what: what, data: Array(data))
        }
        let timestamp = EventTimestamp(
            monotonicNanoseconds: nanoseconds,
            unixNanoseconds: Int64(truncatingIfNeeded: nanoseconds) &+ unixOffsetNanoseconds)
        return .event(ProcessEvent(detail: detail, timestamp: timestamp, cpu: cpu, sequence: sequence))
    }

    /// A NUL-padded `comm[16]` as a String (invalid UTF-8 repaired, never more than 16 bytes).
    static func commString(_ bytes: UnsafeRawBufferPointer) -> String {
        let end = bytes.firstIndex(of: 0) ?? bytes.count
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[..<end]), as: UTF8.self)
    }
}
