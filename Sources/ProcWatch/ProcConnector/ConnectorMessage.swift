/// One message read from the proc connector socket, decoded.
public enum ConnectorMessage: Sendable, Hashable {
    /// A process event.
    case event(ProcessEvent)
    /// The kernel's answer to a LISTEN or IGNORE (`what` = NONE): `error` is 0 on success;
    /// `acknowledgement` is the request's `cn_msg.ack` plus one. Acks are multicast to
    /// every listener, so one may be another program's.
    case acknowledgement(error: UInt32, acknowledgement: UInt32, cpu: UInt32, sequence: UInt32)
    /// An NLMSG_ERROR message carrying a (negative) errno.
    case netlinkError(Int32)
    /// An NLMSG_OVERRUN message: the kernel says data was lost.
    case overrun
    /// A message that could not be decoded.
    case malformed(MalformedMessage)
}

/// Why a message from the kernel could not be decoded.
public enum MalformedMessage: Sendable, Hashable, CustomStringConvertible {
    /// The datagram was longer than the receive slot and was cut.
    case truncatedDatagram(length: Int)
    /// The netlink framing was broken (a bad `nlmsg_len`, or a partial header).
    case badFraming(offset: Int)
    /// Too few bytes for the structure being read (`needed`, `available`).
    case tooShort(what: String, needed: Int, available: Int)
    /// A connector message for another connector user (`idx`, `val`).
    case foreignConnector(index: UInt32, value: UInt32)
    /// A netlink message type the proc connector never sends.
    case unexpectedType(UInt16)

    public var description: String {
        switch self {
        case .truncatedDatagram(let length): "datagram truncated at \(length) bytes"
        case .badFraming(let offset): "bad netlink framing at byte \(offset)"
        case .tooShort(let what, let needed, let available): "\(what) needs \(needed) bytes, has \(available)"
        case .foreignConnector(let index, let value): "connector message for \(index):\(value), not cn_proc"
        case .unexpectedType(let type): "unexpected netlink message type \(type)"
        }
    }
}
