import OutputBytes
import ProcWatch

/// One JSON object per event, exactly as the event contract (docs/events.md) says: the
/// fields are ``ProcessEvent/writeContractFields(process:ancestors:to:)``'s, written by
/// ``JSONObject``'s ``EventFieldSink`` conformance below. Fields that do not apply are
/// absent, never null (except a `lost` event's unknown `count`).
///
/// Written straight into the output's bytes: no `String` is built per event.
/// SPI (`Benchmarks`): public only so the micro-benchmarks can time it.
@_spi(Benchmarks) public struct JSONRenderer {
    /// A renderer (it holds no state).
    public init() {}

    /// The line as a `String` (tests, one-off uses).
    func render(_ observed: ObservedEvent) -> String {
        var bytes: [UInt8] = []
        render(observed, into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the line (without its newline) to `output`.
    public func render(_ observed: ObservedEvent, into output: inout [UInt8]) {
        var json = JSONObject()
        swap(&json.bytes, &output)  // build in place: no copy, no allocation
        defer { swap(&json.bytes, &output) }
        json.open()
        observed.event.writeContractFields(process: observed.process, ancestors: observed.ancestors, to: &json)
        json.close()
    }

    /// Seconds with microsecond precision, no exponent.
    static func decimal(_ seconds: Double) -> String {
        var bytes: [UInt8] = []
        appendDecimal(seconds, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    static func appendDecimal(_ seconds: Double, to bytes: inout [UInt8]) {
        let micros = Int64((seconds * 1_000_000).rounded())
        if micros < 0 { bytes.append(UInt8(ascii: "-")) }
        bytes.append(decimal: micros.magnitude > UInt64(Int64.max) ? 0 : Int64(micros.magnitude) / 1_000_000)
        bytes.append(UInt8(ascii: "."))
        bytes.append(decimal: Int64(micros.magnitude % 1_000_000), width: 6)
    }
}

/// Builds one JSON object by appending members in order, as bytes.
struct JSONObject {
    var bytes: [UInt8] = []
    private var first = true

    init() {}

    /// Starts the object (for ``JSONRenderer``, which builds into an existing buffer).
    mutating func open() {
        bytes.append(UInt8(ascii: "{"))
        first = true
    }

    mutating func close() { bytes.append(UInt8(ascii: "}")) }

    private mutating func key(_ name: StaticString) {
        if bytes.isEmpty { open() }
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        bytes.append(UInt8(ascii: "\""))
        bytes.append(ascii: name)
        bytes.append(ascii: "\":")
    }

    mutating func string(_ name: StaticString, _ value: String) {
        key(name)
        bytes.append(jsonString: value)
    }

    mutating func strings(_ name: StaticString, _ values: [String]) {
        key(name)
        bytes.append(jsonStrings: values)
    }

    mutating func integer(_ name: StaticString, _ value: some BinaryInteger) {
        key(name)
        bytes.append(number: value)
    }

    mutating func boolean(_ name: StaticString, _ value: Bool) {
        key(name)
        bytes.append(ascii: value ? "true" : "false")
    }

    /// The contract's `status` object, or null.
    mutating func exitStatus(_ name: StaticString, _ status: ExitStatus?) {
        key(name)
        bytes.append(json: status)
    }

    /// A member whose value is already JSON text.
    mutating func raw(_ name: StaticString, _ value: String) {
        key(name)
        bytes.append(utf8: value)
    }

    /// A member whose value the closure writes.
    mutating func member(_ name: StaticString, _ value: (inout [UInt8]) -> Void) {
        key(name)
        value(&bytes)
    }

    /// The finished object as text (for objects built on their own, e.g. `run --json`).
    func finish() -> String {
        String(decoding: (bytes.isEmpty ? [UInt8(ascii: "{")] : bytes) + [UInt8(ascii: "}")], as: UTF8.self)
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped.
    static func quote(_ value: String) -> String {
        var bytes: [UInt8] = []
        bytes.append(jsonString: value)
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// The event contract's fields as the object's members.
extension JSONObject: EventFieldSink {
    mutating func string(_ field: EventField, _ value: String) { string(field.name, value) }

    mutating func integer<Value: BinaryInteger>(_ field: EventField, _ value: Value) { integer(field.name, value) }

    mutating func boolean(_ field: EventField, _ value: Bool) { boolean(field.name, value) }

    mutating func null(_ field: EventField) { member(field.name) { $0.append(ascii: "null") } }

    mutating func time(_ field: EventField, unixNanoseconds: Int64) {
        member(field.name) { bytes in
            bytes.append(UInt8(ascii: "\""))
            bytes.append(rfc3339UnixNanoseconds: unixNanoseconds)
            bytes.append(UInt8(ascii: "\""))
        }
    }

    mutating func strings(_ field: EventField, _ values: [String]) { strings(field.name, values) }

    mutating func numbers(_ field: EventField, _ values: [UInt8]) { member(field.name) { $0.append(jsonIntegers: values) } }

    mutating func exitStatus(_ field: EventField, _ status: ExitStatus) { exitStatus(field.name, status) }

    mutating func seconds(_ field: EventField, _ value: Double) {
        member(field.name) { JSONRenderer.appendDecimal(value, to: &$0) }
    }

    /// ``ProcessKey/description`` as a JSON string, written without building it (no
    /// allocation per event; `RendererTests` holds the two to the same text).
    mutating func processKey(_ field: EventField, _ key: ProcessKey) {
        member(field.name) { bytes in
            bytes.append(UInt8(ascii: "\""))
            bytes.append(utf8: ProcessKey.boot)
            bytes.append(UInt8(ascii: "-"))
            bytes.append(number: key.pid)
            bytes.append(UInt8(ascii: "-"))
            bytes.append(number: key.startNanoseconds)
            bytes.append(UInt8(ascii: "\""))
        }
    }

    /// `[{"pid":1,"comm":"systemd"},…]`
    mutating func ancestry(_ field: EventField, _ ancestors: [ProcessRecord]) {
        member(field.name) { bytes in
            bytes.append(UInt8(ascii: "["))
            for (index, ancestor) in ancestors.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                bytes.append(ascii: "{\"pid\":")
                bytes.append(number: ancestor.pid)
                bytes.append(ascii: ",\"comm\":")
                bytes.append(jsonString: ancestor.name)
                bytes.append(UInt8(ascii: "}"))
            }
            bytes.append(UInt8(ascii: "]"))
        }
    }
}
