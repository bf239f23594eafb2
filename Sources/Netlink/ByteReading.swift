/// Little helpers for reading kernel structures at byte offsets.
///
/// Kernel messages are not aligned for Swift (a proc_event's 64-bit timestamp sits at
/// byte 44 of the datagram), so every read is an unaligned load after a bounds check.
/// `@inlinable`: the decoder in another module must get them specialized and inlined, not
/// a generic call per field (which showed as a tenth of the CPU under a storm).
extension UnsafeRawBufferPointer {
    /// Reads a `T` at `offset`, or nil when it does not fit.
    @inlinable @inline(__always)
    package func read<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T? {
        guard offset >= 0, offset <= count - MemoryLayout<T>.size else { return nil }
        return loadUnaligned(fromByteOffset: offset, as: T.self)
    }

    /// Reads a `T` at `offset` that the caller has already bounds-checked.
    @inlinable @inline(__always)
    package func readUnchecked<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        loadUnaligned(fromByteOffset: offset, as: T.self)
    }
}

extension Array where Element == UInt8 {
    /// Appends the in-memory (native-endian) bytes of an integer.
    @inlinable @inline(__always)
    package mutating func append<T: FixedWidthInteger>(integer value: T) {
        Swift.withUnsafeBytes(of: value) { append(contentsOf: $0) }
    }
}
