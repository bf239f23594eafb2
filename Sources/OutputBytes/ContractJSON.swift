import ProcWatch

/// The JSON values of the event contract that are not plain scalars, written once for the
/// JSON view, the store's JSON columns and `run`'s report.
extension Array where Element == UInt8 {
    /// `["a","b"]`, each string escaped.
    @inlinable
    package mutating func append(jsonStrings values: [String]) {
        append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { append(UInt8(ascii: ",")) }
            append(jsonString: value)
        }
        append(UInt8(ascii: "]"))
    }

    /// `[1,2,3]`
    @inlinable
    package mutating func append<Values: Sequence>(jsonIntegers values: Values) where Values.Element: BinaryInteger {
        append(UInt8(ascii: "["))
        var first = true
        for value in values {
            if !first { append(UInt8(ascii: ",")) }
            first = false
            append(number: value)
        }
        append(UInt8(ascii: "]"))
    }

    /// The contract's `status` object: `{"exited":3}` or `{"signaled":9,"core":false}`;
    /// `null` for no status (a process still running).
    @inlinable
    package mutating func append(json status: ExitStatus?) {
        switch status {
        case .exited(let code):
            append(ascii: "{\"exited\":")
            append(number: code)
        case .signaled(let signal, let core):
            append(ascii: "{\"signaled\":")
            append(number: signal)
            append(ascii: core ? ",\"core\":true" : ",\"core\":false")
        case nil:
            append(ascii: "null")
            return
        }
        append(UInt8(ascii: "}"))
    }
}

extension ExitStatus {
    /// The contract's `status` object as text (for columns and documents built as strings).
    package var json: String {
        var bytes: [UInt8] = []
        bytes.append(json: self)
        return String(decoding: bytes, as: UTF8.self)
    }
}
