/// Appending text to a byte buffer without building intermediate `String`s: the renderers
/// write every line straight into the output buffer (no allocation per event), and the
/// store writes its JSON columns with the same escaping.
///
/// `@inlinable`: the renderers call these per field, from another module.
extension Array where Element == UInt8 {
    @inlinable @inline(__always)
    package mutating func append(ascii text: StaticString) {
        text.withUTF8Buffer { append(contentsOf: $0) }
    }

    @inlinable @inline(__always)
    package mutating func append(utf8 text: String) {
        var text = text
        text.withUTF8 { append(contentsOf: $0) }
    }

    /// Decimal digits of an integer, with `-` for negatives, zero-padded to `width`.
    /// Digits are produced backwards on the stack: division by the constant 10 compiles to
    /// a multiplication (a division by a variable power of ten cost ~1 µs per JSON line).
    @inlinable
    package mutating func append(decimal value: Int64, width: Int = 0) {
        if value < 0 { append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var index = 20
            repeat {
                index -= 1
                digits[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            let length = 20 - index
            if width > length { append(contentsOf: repeatElement(UInt8(ascii: "0"), count: Swift.min(width - length, 20))) }
            append(contentsOf: UnsafeBufferPointer(rebasing: digits[index...]))
        }
    }

    @inlinable @inline(__always)
    package mutating func append<T: BinaryInteger>(number value: T) {
        if let small = Int64(exactly: value) { append(decimal: small) } else { append(utf8: String(value)) }
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped; other
    /// bytes (valid UTF-8, as every Swift string is) copied as they are.
    @inlinable
    package mutating func append(jsonString text: String) {
        append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            var start = 0
            for index in 0..<bytes.count {
                let byte = bytes[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
                start = index + 1
                switch byte {
                case UInt8(ascii: "\""): append(ascii: "\\\"")
                case UInt8(ascii: "\\"): append(ascii: "\\\\")
                case UInt8(ascii: "\n"): append(ascii: "\\n")
                case UInt8(ascii: "\r"): append(ascii: "\\r")
                case UInt8(ascii: "\t"): append(ascii: "\\t")
                default:
                    append(ascii: "\\u00")
                    let hex: StaticString = "0123456789abcdef"
                    hex.withUTF8Buffer { digits in
                        append(digits[Int(byte >> 4)])
                        append(digits[Int(byte & 0xF)])
                    }
                }
            }
            append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...]))
        }
        append(UInt8(ascii: "\""))
    }
}
