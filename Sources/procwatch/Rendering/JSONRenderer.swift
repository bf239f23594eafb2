import ProcWatch

/// One JSON object per event, exactly as the event contract in shared/DESIGN.md says.
/// Fields that do not apply are absent, never null (except a `lost` event's unknown `count`).
struct JSONRenderer {
    func render(_ observed: ObservedEvent) -> String {
        var json = JSONObject()
        let event = observed.event
        json.string("event", event.name)
        json.string("time", WallClock.rfc3339(unixNanoseconds: event.timestamp.unixNanoseconds))
        json.integer("ktime_ns", event.timestamp.monotonicNanoseconds)
        if case .lost(let count, let reason, let cpu) = event.detail {
            if let cpu { json.integer("cpu", cpu) }
            if let count { json.integer("count", count) } else { json.raw("count", "null") }
            json.string("reason", reason.rawValue)
            return json.finish()
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
            json.raw("data", "[" + data.map(String.init).joined(separator: ",") + "]")
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
            switch ExitStatus(waitStatus: waitStatus) {
            case .exited(let code): json.raw("status", "{\"exited\":\(code)}")
            case .signaled(let signal, let core): json.raw("status", "{\"signaled\":\(signal),\"core\":\(core)}")
            }
            if let seconds = observed.process?.lifetimeSeconds { json.raw("duration_s", Self.decimal(seconds)) }
        }
        if !observed.ancestors.isEmpty {
            json.raw("ancestry", "[" + observed.ancestors.map { "{\"pid\":\($0.pid),\"comm\":\(JSONObject.quote($0.name))}" }
                .joined(separator: ",") + "]")
        }
        return json.finish()
    }

    /// Seconds with microsecond precision, no exponent.
    static func decimal(_ seconds: Double) -> String {
        let micros = Int64((seconds * 1_000_000).rounded())
        return "\(micros / 1_000_000).\(WallClock.pad(micros % 1_000_000, 6))"
    }
}

/// Builds one JSON object by appending members in order.
struct JSONObject {
    private var text = "{"
    private var first = true

    private mutating func key(_ name: String) {
        if !first { text.append(",") }
        first = false
        text.append("\"")
        text.append(name)
        text.append("\":")
    }

    mutating func string(_ name: String, _ value: String) {
        key(name)
        text.append(Self.quote(value))
    }

    mutating func strings(_ name: String, _ values: [String]) {
        key(name)
        text.append("[")
        text.append(values.map(Self.quote).joined(separator: ","))
        text.append("]")
    }

    mutating func integer(_ name: String, _ value: some BinaryInteger) {
        key(name)
        text.append(String(value))
    }

    mutating func boolean(_ name: String, _ value: Bool) {
        key(name)
        text.append(value ? "true" : "false")
    }

    mutating func raw(_ name: String, _ value: String) {
        key(name)
        text.append(value)
    }

    func finish() -> String { text + "}" }

    /// A JSON string literal: quotes, backslashes and control characters escaped.
    static func quote(_ value: String) -> String {
        var result = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": result.append("\\\"")
            case "\\": result.append("\\\\")
            case "\n": result.append("\\n")
            case "\r": result.append("\\r")
            case "\t": result.append("\\t")
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
            default: result.unicodeScalars.append(scalar)
            }
        }
        result.append("\"")
        return result
    }
}
