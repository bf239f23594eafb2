import OutputBytes
import ProcWatch

/// One JSON object per event, exactly as the event contract in shared/DESIGN.md says.
/// Fields that do not apply are absent, never null (except a `lost` event's unknown `count`).
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
        defer { json.close() }
        let event = observed.event
        json.string("event", event.name)
        json.member("time") { bytes in
            bytes.append(UInt8(ascii: "\""))
            WallClock.appendRFC3339(unixNanoseconds: event.timestamp.unixNanoseconds, to: &bytes)
            bytes.append(UInt8(ascii: "\""))
        }
        json.integer("ktime_ns", event.timestamp.monotonicNanoseconds)
        if case .lost(let count, let reason, let cpu) = event.detail {
            if let cpu { json.integer("cpu", cpu) }
            if let count { json.integer("count", count) } else { json.member("count") { $0.append(ascii: "null") } }
            json.string("reason", reason.rawValue)
            return
        }
        json.integer("cpu", event.cpu)
        json.integer("seq", event.sequence)
        if let subject = event.subject {
            json.integer("pid", subject.pid)
            json.integer("tid", subject.tid)
        }
        switch event.detail {
        case .fork(let parent, let child):
            json.integer("ppid", parent.pid)
            json.integer("ptid", parent.tid)
            json.boolean("thread", child.isThread)
        case .coredump(_, let parent):
            json.integer("ppid", parent.pid)
            json.integer("ptid", parent.tid)
        case .exit(let task, _, _, let parent):
            json.integer("ppid", parent.pid)
            json.integer("ptid", parent.tid)
            json.boolean("thread", task.isThread)
        default:
            if let parent = observed.process?.parentPID, parent > 0 { json.integer("ppid", parent) }
        }
        switch event.detail {
        case .uid(_, let real, let effective):
            json.integer("ruid", real)
            json.integer("euid", effective)
        case .gid(_, let real, let effective):
            json.integer("rgid", real)
            json.integer("egid", effective)
        case .sid(let task):
            json.integer("sid", task.pid)
        case .ptrace(_, let tracer):
            json.integer("tracer_pid", tracer.pid)
            json.integer("tracer_tid", tracer.tid)
        case .unknown(let what, let data):
            json.integer("what", what)
            json.member("data") { bytes in
                bytes.append(UInt8(ascii: "["))
                for (index, byte) in data.enumerated() {
                    if index > 0 { bytes.append(UInt8(ascii: ",")) }
                    bytes.append(decimal: Int64(byte))
                }
                bytes.append(UInt8(ascii: "]"))
            }
        default:
            break
        }
        if case .comm(_, let name) = event.detail {
            json.string("comm", name)
        } else if let name = observed.process?.name, !name.isEmpty {
            json.string("comm", name)
        }
        if let process = observed.process {
            if !process.commandLine.isEmpty { json.strings("cmdline", process.commandLine) }
            if let executable = process.executable { json.string("exe", executable) }
            if let uid = process.uid { json.integer("uid", uid) }
        }
        if case .exit(_, let waitStatus, let exitSignal, _) = event.detail {
            json.integer("exit_code", waitStatus)
            json.integer("exit_signal", exitSignal)
            json.member("status") { bytes in
                switch ExitStatus(waitStatus: waitStatus) {
                case .exited(let code):
                    bytes.append(ascii: "{\"exited\":")
                    bytes.append(number: code)
                case .signaled(let signal, let core):
                    bytes.append(ascii: "{\"signaled\":")
                    bytes.append(number: signal)
                    bytes.append(ascii: core ? ",\"core\":true" : ",\"core\":false")
                }
                bytes.append(UInt8(ascii: "}"))
            }
            if let seconds = observed.process?.lifetimeSeconds { json.member("duration_s") { Self.appendDecimal(seconds, to: &$0) } }
        }
        if !observed.ancestors.isEmpty {
            json.member("ancestry") { bytes in
                bytes.append(UInt8(ascii: "["))
                for (index, ancestor) in observed.ancestors.enumerated() {
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
        bytes.append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(jsonString: value)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    mutating func integer(_ name: StaticString, _ value: some BinaryInteger) {
        key(name)
        bytes.append(number: value)
    }

    mutating func boolean(_ name: StaticString, _ value: Bool) {
        key(name)
        bytes.append(ascii: value ? "true" : "false")
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
