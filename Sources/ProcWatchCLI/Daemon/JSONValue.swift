/// One JSON value, as ``JSONValue/parse(_:)`` reads it: the client reads the daemon's lines
/// with it, so that `procwatch` links no Foundation (its JSONDecoder) for one line format.
///
/// Numbers keep their text: a `ktime_ns` past 2^53 must not pass through a `Double`, and
/// each field converts to the integer type it has (``integer(_:)``).
package enum JSONValue: Sendable, Equatable {
    case object([(key: String, value: JSONValue)])
    case array([JSONValue])
    case string(String)
    /// The number's text as written (`-12`, `0.5e3`), checked against the JSON grammar.
    case number(String)
    case bool(Bool)
    case null

    package static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.object(let a), .object(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case (.array(let a), .array(let b)): a == b
        case (.string(let a), .string(let b)), (.number(let a), .number(let b)): a == b
        case (.bool(let a), .bool(let b)): a == b
        case (.null, .null): true
        default: false
        }
    }

    /// A member of an object (nil when absent, or when this is no object).
    package subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// The number as an integer of type `T`, when it is an integer within `T`'s range.
    package func integer<T: FixedWidthInteger>(_: T.Type = T.self) -> T? {
        guard case .number(let text) = self else { return nil }
        return T(text, radix: 10)
    }

    /// Most bytes of one line (a selection, a hello, an event): the largest event carries a
    /// 32 KiB command line, each byte of which may be escaped as `\u00XX`.
    package static let maximumLength = 1 << 20
    /// Most levels of nested arrays and objects (the contract has three).
    package static let maximumDepth = 32

    /// Parses one complete JSON text (surrounding spaces allowed, nothing else after it).
    package static func parse(_ bytes: some Collection<UInt8>) throws(JSONError) -> JSONValue {
        guard bytes.count <= maximumLength else { throw JSONError("longer than \(maximumLength) bytes") }
        var parser = JSONParser(bytes: Array(bytes))
        return try parser.document()
    }
}

/// Why a line is not the JSON it should be, in a few words with the byte offset.
package struct JSONError: Error, Equatable, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}

/// A strict recursive-descent reader of RFC 8259 JSON (no comments, no trailing commas, no
/// leading zeros, no raw control characters in strings, duplicate keys refused).
private struct JSONParser {
    let bytes: [UInt8]
    var offset = 0
    var depth = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func document() throws(JSONError) -> JSONValue {
        let value = try value()
        skipSpace()
        guard offset == bytes.count else { throw failure("unexpected text after the JSON value") }
        return value
    }

    private func failure(_ what: String) -> JSONError { JSONError("\(what) at byte \(offset)") }

    private mutating func skipSpace() {
        while offset < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[offset]) { offset += 1 }
    }

    private mutating func value() throws(JSONError) -> JSONValue {
        skipSpace()
        guard offset < bytes.count else { throw failure("unexpected end") }
        switch bytes[offset] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw failure("unexpected character")
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONError) {
        let count = word.utf8CodeUnitCount
        let matches = word.withUTF8Buffer { expected in
            offset + count <= bytes.count && bytes[offset..<offset + count].elementsEqual(expected)
        }
        guard matches else { throw failure("unexpected character") }
        offset += count
    }

    private mutating func nest() throws(JSONError) {
        depth += 1
        guard depth <= JSONValue.maximumDepth else { throw failure("nested deeper than \(JSONValue.maximumDepth) levels") }
    }

    private mutating func object() throws(JSONError) -> JSONValue {
        try nest()
        offset += 1
        var members: [(key: String, value: JSONValue)] = []
        skipSpace()
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "}") {
            offset += 1
            depth -= 1
            return .object(members)
        }
        while true {
            skipSpace()
            guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else { throw failure("expected a member name") }
            let key = try string()
            guard !members.contains(where: { $0.key == key }) else { throw failure("duplicate member \"\(key)\"") }
            skipSpace()
            guard offset < bytes.count, bytes[offset] == UInt8(ascii: ":") else { throw failure("expected ':'") }
            offset += 1
            members.append((key, try value()))
            skipSpace()
            guard offset < bytes.count else { throw failure("unexpected end") }
            if bytes[offset] == UInt8(ascii: ",") { offset += 1; continue }
            guard bytes[offset] == UInt8(ascii: "}") else { throw failure("expected ',' or '}'") }
            offset += 1
            depth -= 1
            return .object(members)
        }
    }

    private mutating func array() throws(JSONError) -> JSONValue {
        try nest()
        offset += 1
        var elements: [JSONValue] = []
        skipSpace()
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "]") {
            offset += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            elements.append(try value())
            skipSpace()
            guard offset < bytes.count else { throw failure("unexpected end") }
            if bytes[offset] == UInt8(ascii: ",") { offset += 1; continue }
            guard bytes[offset] == UInt8(ascii: "]") else { throw failure("expected ',' or ']'") }
            offset += 1
            depth -= 1
            return .array(elements)
        }
    }

    private mutating func number() throws(JSONError) -> String {
        let start = offset
        func digits(_ parser: inout JSONParser) -> Int {
            let first = parser.offset
            while parser.offset < parser.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(parser.bytes[parser.offset]) {
                parser.offset += 1
            }
            return parser.offset - first
        }
        if bytes[offset] == UInt8(ascii: "-") { offset += 1 }
        let leadingZero = offset < bytes.count && bytes[offset] == UInt8(ascii: "0")
        let integerDigits = digits(&self)
        guard integerDigits > 0 else { throw failure("a number needs digits") }
        guard !(leadingZero && integerDigits > 1) else { throw failure("a number cannot start with 0") }
        if offset < bytes.count, bytes[offset] == UInt8(ascii: ".") {
            offset += 1
            guard digits(&self) > 0 else { throw failure("a number needs digits after '.'") }
        }
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "e") || bytes[offset] == UInt8(ascii: "E") {
            offset += 1
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "+") || bytes[offset] == UInt8(ascii: "-") { offset += 1 }
            guard digits(&self) > 0 else { throw failure("a number needs digits in its exponent") }
        }
        return String(decoding: bytes[start..<offset], as: UTF8.self)
    }

    private mutating func string() throws(JSONError) -> String {
        offset += 1  // the opening quote
        var scalars = String.UnicodeScalarView()
        var runStart = offset
        // Unescaped runs are validated as UTF-8 in one piece; escapes are appended as scalars.
        func flushRun(_ parser: JSONParser, upTo end: Int, into scalars: inout String.UnicodeScalarView) throws(JSONError) {
            guard runStart < end else { return }
            guard let text = String(validating: parser.bytes[runStart..<end], as: UTF8.self) else {
                throw JSONError("invalid UTF-8 in a string at byte \(runStart)")
            }
            scalars.append(contentsOf: text.unicodeScalars)
        }
        while true {
            guard offset < bytes.count else { throw failure("unterminated string") }
            let byte = bytes[offset]
            if byte == UInt8(ascii: "\"") {
                try flushRun(self, upTo: offset, into: &scalars)
                offset += 1
                return String(scalars)
            }
            guard byte >= 0x20 else { throw failure("control character in a string") }
            guard byte == UInt8(ascii: "\\") else { offset += 1; continue }
            try flushRun(self, upTo: offset, into: &scalars)
            offset += 1
            guard offset < bytes.count else { throw failure("unterminated string") }
            let escaped = bytes[offset]
            offset += 1
            switch escaped {
            case UInt8(ascii: "\""): scalars.append("\"")
            case UInt8(ascii: "\\"): scalars.append("\\")
            case UInt8(ascii: "/"): scalars.append("/")
            case UInt8(ascii: "b"): scalars.append("\u{8}")
            case UInt8(ascii: "f"): scalars.append("\u{C}")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "u"):
                let unit = try hexUnit()
                if (0xD800...0xDBFF).contains(unit) {
                    // A high surrogate must be followed by an escaped low one: together one scalar.
                    guard offset + 1 < bytes.count, bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u")
                    else { throw failure("unpaired surrogate in a string") }
                    offset += 2
                    let low = try hexUnit()
                    guard (0xDC00...0xDFFF).contains(low) else { throw failure("unpaired surrogate in a string") }
                    scalars.append(Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))!)
                } else {
                    guard let scalar = Unicode.Scalar(unit) else { throw failure("unpaired surrogate in a string") }
                    scalars.append(scalar)
                }
            default:
                offset -= 1
                throw failure("unknown escape in a string")
            }
            runStart = offset
        }
    }

    private mutating func hexUnit() throws(JSONError) -> UInt32 {
        guard offset + 4 <= bytes.count else { throw failure("unterminated \\u escape") }
        var unit: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[offset]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("bad \\u escape")
            }
            unit = unit << 4 | UInt32(digit)
            offset += 1
        }
        return unit
    }
}
