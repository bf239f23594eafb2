import CProcWatch

/// One netlink message inside a datagram: the `nlmsghdr` fields and its payload.
///
/// Frozen and inlinable (with ``NetlinkMessages``): the decoders in other modules iterate
/// messages for every event, and a cross-module call per message showed in the profile.
@frozen
package struct NetlinkMessage {
    /// `nlmsg_type`: NLMSG_NOOP (1), NLMSG_ERROR (2), NLMSG_DONE (3), NLMSG_OVERRUN (4), or a family's type.
    package var type: UInt16
    /// `nlmsg_flags`.
    package var flags: UInt16
    /// `nlmsg_seq`.
    package var sequence: UInt32
    /// `nlmsg_pid`: the sender's port (0 for the kernel).
    package var portID: UInt32
    /// The bytes after the header, as long as `nlmsg_len` says.
    package var payload: UnsafeRawBufferPointer

    @inlinable
    package init(type: UInt16, flags: UInt16, sequence: UInt32, portID: UInt32, payload: UnsafeRawBufferPointer) {
        self.type = type
        self.flags = flags
        self.sequence = sequence
        self.portID = portID
        self.payload = payload
    }

    package static let headerSize = 16
    package static let noop: UInt16 = UInt16(NLMSG_NOOP)
    package static let error: UInt16 = UInt16(NLMSG_ERROR)
    package static let done: UInt16 = UInt16(NLMSG_DONE)
    package static let overrun: UInt16 = UInt16(NLMSG_OVERRUN)

    /// For an NLMSG_ERROR message: the (negative) error code, 0 for an ack.
    package var errorCode: Int32? {
        guard type == Self.error else { return nil }
        return payload.read(Int32.self, at: 0)
    }
}

/// Why a datagram could not be split into messages.
package enum NetlinkFramingError: Error, Sendable, Equatable {
    /// Fewer bytes left than a header (`remaining` bytes at `offset`).
    case shortHeader(offset: Int, remaining: Int)
    /// `nlmsg_len` is below the header size or runs past the datagram's end.
    case badLength(offset: Int, length: UInt32, remaining: Int)
}

/// Splits a datagram into its netlink messages (`NLMSG_OK`/`NLMSG_NEXT` with bounds checks).
///
/// Yields `.failure` once and stops at the first framing error, so a truncated or
/// corrupt datagram is reported rather than read past its end.
@frozen
package struct NetlinkMessages: Sequence, IteratorProtocol {
    @usableFromInline let bytes: UnsafeRawBufferPointer
    @usableFromInline var offset = 0
    @usableFromInline var finished = false

    @inlinable
    package init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    @inlinable
    package mutating func next() -> Result<NetlinkMessage, NetlinkFramingError>? {
        guard !finished else { return nil }
        let remaining = bytes.count - offset
        if remaining == 0 { finished = true; return nil }
        guard remaining >= 16 else {  // nlmsghdr
            finished = true
            // Trailing alignment padding (fewer than 4 zero bytes) is not an error.
            if remaining < 4, bytes[offset...].allSatisfy({ $0 == 0 }) { return nil }
            return .failure(.shortHeader(offset: offset, remaining: remaining))
        }
        let length = bytes.readUnchecked(UInt32.self, at: offset)
        guard length >= 16, Int(length) <= remaining else {
            finished = true
            return .failure(.badLength(offset: offset, length: length, remaining: remaining))
        }
        let message = NetlinkMessage(
            type: bytes.readUnchecked(UInt16.self, at: offset + 4),
            flags: bytes.readUnchecked(UInt16.self, at: offset + 6),
            sequence: bytes.readUnchecked(UInt32.self, at: offset + 8),
            portID: bytes.readUnchecked(UInt32.self, at: offset + 12),
            payload: UnsafeRawBufferPointer(rebasing: bytes[(offset + 16)..<(offset + Int(length))])
        )
        offset += Swift.min(Int((length &+ 3) & ~3), remaining)  // NLMSG_ALIGN
        return .success(message)
    }
}

extension NetlinkMessage {
    /// Encodes a message: `nlmsghdr` followed by `payload`, padded to 4 bytes.
    package static func encode(type: UInt16, flags: UInt16, sequence: UInt32, portID: UInt32 = 0, payload: [UInt8]) -> [UInt8] {
        let length = UInt32(headerSize + payload.count)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(procwatch_nlmsg_align(length)))
        bytes.append(integer: length)
        bytes.append(integer: type)
        bytes.append(integer: flags)
        bytes.append(integer: sequence)
        bytes.append(integer: portID)
        bytes.append(contentsOf: payload)
        while bytes.count % 4 != 0 { bytes.append(0) }
        return bytes
    }
}
