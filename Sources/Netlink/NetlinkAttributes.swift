import CProcWatch

/// One netlink attribute (`struct nlattr` and its value).
package struct NetlinkAttribute {
    /// `nla_type` without the NLA_F_NESTED / NLA_F_NET_BYTEORDER flags.
    package var type: UInt16
    /// The value bytes (`nla_len` minus the 4-byte header).
    package var value: UnsafeRawBufferPointer
}

/// Iterates the attributes in a buffer, stopping at the first one whose length
/// does not fit (as `nla_ok` would), so truncated input is never read past.
package struct NetlinkAttributes: Sequence, IteratorProtocol {
    private let bytes: UnsafeRawBufferPointer
    private var offset = 0

    package init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    package mutating func next() -> NetlinkAttribute? {
        guard let length = bytes.read(UInt16.self, at: offset),
              let rawType = bytes.read(UInt16.self, at: offset + 2),
              length >= 4, offset + Int(length) <= bytes.count
        else { return nil }
        let value = UnsafeRawBufferPointer(rebasing: bytes[(offset + 4)..<(offset + Int(length))])
        offset += Int(procwatch_nla_align(UInt32(length)))
        return NetlinkAttribute(type: rawType & 0x3FFF, value: value)
    }

    /// Encodes one attribute with its header and padding.
    package static func encode(type: UInt16, value: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.append(integer: UInt16(4 + value.count))
        bytes.append(integer: type)
        bytes.append(contentsOf: value)
        while bytes.count % 4 != 0 { bytes.append(0) }
        return bytes
    }
}
