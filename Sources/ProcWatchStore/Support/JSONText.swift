import OutputBytes

/// Small JSON values as text, for the columns that hold JSON (`cmdline`, `data`, …): the
/// same bytes the live JSON view writes for them.
package enum JSONText {
    /// `"text"` with JSON escapes.
    static func string(_ value: String) -> String {
        text { $0.append(jsonString: value) }
    }

    /// `["a","b"]`
    package static func strings(_ values: [String]) -> String {
        text { $0.append(jsonStrings: values) }
    }

    /// `[1,2,3]`
    static func integers<Number: BinaryInteger>(_ values: [Number]) -> String {
        text { $0.append(jsonIntegers: values) }
    }

    private static func text(_ write: (inout [UInt8]) -> Void) -> String {
        var bytes: [UInt8] = []
        write(&bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}
