import ProcWatch

/// One plain line per event (the aligned, coloured live view comes with the CLI issue).
enum TextLine {
    static func render(_ event: ProcessEvent) -> String {
        let seconds = event.timestamp.unixNanoseconds / 1_000_000_000
        let micros = (event.timestamp.unixNanoseconds % 1_000_000_000) / 1000
        let time = "\(seconds).\(String(repeating: "0", count: 6 - String(micros).count))\(micros)"
        switch event.detail {
        case .fork(let parent, let child):
            return "\(time) fork     \(child) parent \(parent)\(child.isThread ? " thread" : "")"
        case .exec(let task):
            return "\(time) exec     \(task)"
        case .uid(let task, let real, let effective):
            return "\(time) uid      \(task) ruid \(real) euid \(effective)"
        case .gid(let task, let real, let effective):
            return "\(time) gid      \(task) rgid \(real) egid \(effective)"
        case .sid(let task):
            return "\(time) sid      \(task) sid \(task.pid)"
        case .ptrace(let task, let tracer):
            return tracer.pid == 0
                ? "\(time) ptrace   \(task) detach"
                : "\(time) ptrace   \(task) attach tracer \(tracer)"
        case .comm(let task, let name):
            return "\(time) comm     \(task) \(name)"
        case .coredump(let task, let parent):
            return "\(time) coredump \(task) parent \(parent)"
        case .exit(let task, let status, let signal, let parent):
            return "\(time) exit     \(task) \(ExitStatus(waitStatus: status)) signal \(signal) parent \(parent)"
        case .unknown(let what, let data):
            return "\(time) unknown  what 0x\(String(what, radix: 16)) \(data.count) bytes"
        case .lost(let count, let reason, let cpu):
            return "\(time) lost     \(count.map(String.init) ?? "unknown number of") events (\(reason.rawValue)\(cpu.map { ", cpu \($0)" } ?? ""))"
        }
    }
}
