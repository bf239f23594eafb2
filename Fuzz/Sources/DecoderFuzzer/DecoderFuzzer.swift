// libFuzzer entry point for `ProcEventDecoder`.
//
// Netlink's `NetlinkMessages` / `NetlinkAttributes` iterators have `package` access and
// the Netlink module is not a product of the root package, so they cannot be reached from
// this separate package; they are exercised through `ProcEventDecoder.decode`, which
// splits every datagram with `NetlinkMessages`.
import ProcWatch

/// Keeps the optimizer from discarding the work done on decoded messages.
nonisolated(unsafe) var sink = 0

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)

    // Not truncated: the real decoding path.
    var first: [ConnectorMessage] = []
    ProcEventDecoder.decode(bytes, truncated: false, unixOffsetNanoseconds: 0) { first.append($0) }
    for message in first { touch(message) }

    // Deterministic: the same bytes decode to the same messages (array convenience entry point).
    let second = ProcEventDecoder.decode(Array(bytes), unixOffsetNanoseconds: 0)
    precondition(first == second, "decoding is not deterministic")

    // An extreme clock offset: wall-clock mapping must wrap, never trap.
    var shifted = 0
    ProcEventDecoder.decode(bytes, truncated: false, unixOffsetNanoseconds: .max) { message in
        touch(message)
        shifted += 1
    }
    precondition(shifted == first.count, "message count depends on the clock offset")

    // Truncated: exactly one malformed report, whatever the bytes.
    var truncated: [ConnectorMessage] = []
    ProcEventDecoder.decode(bytes, truncated: true, unixOffsetNanoseconds: .min) { truncated.append($0) }
    precondition(truncated == [.malformed(.truncatedDatagram(length: size))], "truncated datagram not reported as such")
    for message in truncated { touch(message) }
    return 0
}

/// Reads every field of a decoded message (hash, description, and the computed properties)
/// so that lazily computed or formatted values are exercised too.
func touch(_ message: ConnectorMessage) {
    var hasher = Hasher()
    hasher.combine(message)
    var text = String(describing: message)
    switch message {
    case .event(let event):
        hasher.combine(event.detail)
        hasher.combine(event.timestamp.monotonicNanoseconds)
        hasher.combine(event.timestamp.unixNanoseconds)
        hasher.combine(event.cpu)
        hasher.combine(event.sequence)
        hasher.combine(event.kind)
        hasher.combine(event.pid)
        text += event.name
        if let subject = event.subject {
            hasher.combine(subject.isThread)
            text += subject.description
        }
        if let status = event.exitStatus {
            hasher.combine(status.isSuccess)
            text += status.description
        }
        switch event.detail {
        case .fork(let parent, let child):
            text += parent.description + child.description
        case .exec(let task), .sid(let task):
            text += task.description
        case .uid(let task, let real, let effective), .gid(let task, let real, let effective):
            text += task.description
            hasher.combine(real)
            hasher.combine(effective)
        case .ptrace(let task, let tracer):
            text += task.description + tracer.description
        case .comm(let task, let name):
            text += task.description
            precondition(name.utf8.count <= 16 * 3, "comm longer than 16 repaired bytes")
            hasher.combine(name.unicodeScalars.count)
            text += name
        case .coredump(let task, let parent):
            text += task.description + parent.description
        case .exit(let task, let waitStatus, let exitSignal, let parent):
            text += task.description + parent.description + SignalName.of(exitSignal)
            hasher.combine(waitStatus)
        case .unknown(let what, let data):
            hasher.combine(what)
            hasher.combine(data)
        case .execFailed(let task, let failure):
            preconditionFailure("the connector sends no failed execs (\(task) \(failure.path))")
        case .lost(let count, let reason, let cpu):
            preconditionFailure("the decoder never reports losses (\(String(describing: count)) \(reason) \(String(describing: cpu)))")
        }
    case .acknowledgement(let error, let acknowledgement, let cpu, let sequence):
        hasher.combine(error)
        hasher.combine(acknowledgement)
        hasher.combine(cpu)
        hasher.combine(sequence)
    case .netlinkError(let code):
        hasher.combine(code)
    case .overrun:
        break
    case .malformed(let malformed):
        text += malformed.description
    }
    hasher.combine(text)
    sink &+= hasher.finalize()
}
