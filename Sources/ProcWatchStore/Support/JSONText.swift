/// Small JSON values as text, for the columns that hold JSON (`cmdline`, `status`, …).
enum JSONText {
    /// `"text"` with JSON escapes.
    static func string(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
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
