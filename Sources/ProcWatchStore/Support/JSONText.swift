import OutputBytes

/// Small JSON values as text, for the columns that hold JSON (`cmdline`, `status`, …).
enum JSONText {
    /// `"text"` with JSON escapes (the live JSON view's escaping).
    static func string(_ value: String) -> String {
        var bytes: [UInt8] = []
        bytes.append(jsonString: value)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `["a","b"]`
    static func strings(_ values: [String]) -> String {
        "[" + values.map(string).joined(separator: ",") + "]"
    }

    /// `[1,2,3]`
    static func integers<Number: BinaryInteger>(_ values: [Number]) -> String {
        "[" + values.map { "\($0)" }.joined(separator: ",") + "]"
    }

    /// `[[…],[…]]`
    static func arrays(_ values: [[String]]) -> String {
        "[" + values.map(strings).joined(separator: ",") + "]"
    }
}
