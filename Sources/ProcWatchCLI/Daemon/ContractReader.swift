import ProcWatch

/// One line of the event contract read back: what the live view, `stats` and `run` take
/// from the kernel source (an ``EnrichedEvent``), plus the `ancestry` a line may carry.
package struct ContractEvent: Sendable, Equatable {
    /// The event, the subject as the line describes it after the event, and for an exit
    /// with kernel-side accounting the exit record rebuilt from it. `previous` stays nil:
    /// the contract does not say what a process was before the event.
    package var enriched: EnrichedEvent
    /// The `ancestry` member, nearest first (pid and name only), empty when absent.
    package var ancestors: [ProcessRecord]
}

/// Why a line is not an event of the contract: one line naming the field.
package struct ContractError: Error, Equatable, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}

/// Reads `procwatch --json` lines (docs/events.md) back into events, so that a reader's
/// `write → read → write` gives the same bytes: every field the writer derives from the
/// event (`thread`, `status`, `error`, `sid`) is checked against what it is derived from
/// rather than stored, and everything else has a place in ``ContractEvent``.
///
/// Members it does not know are skipped (adding fields is not breaking); a known member of
/// the wrong type, a missing required one or a value out of range is an error.
package enum ContractReader {
    /// Reads one line (without its newline).
    package static func read(_ line: some Collection<UInt8>) throws(ContractError) -> ContractEvent {
        let value: JSONValue
        do { value = try JSONValue.parse(line) } catch { throw ContractError("not JSON: \(error)") }
        guard case .object = value else { throw ContractError("not a JSON object") }
        return try read(object: Fields(value))
    }

    private static func read(object fields: Fields) throws(ContractError) -> ContractEvent {
        let name = try fields.string("event")
        guard let timeText = try fields.optionalString("time") else { throw ContractError("no \"time\"") }
        guard let unix = WallClock.parseRFC3339(timeText) else { throw ContractError("\"time\" is not RFC 3339 UTC with microseconds: \(timeText)") }
        let timestamp = EventTimestamp(monotonicNanoseconds: try fields.integer("ktime_ns"), unixNanoseconds: unix)
        if name == "lost" {
            let reasonText = try fields.string("reason")
            guard let reason = LossReason(rawValue: reasonText) else { throw ContractError("unknown loss reason \"\(reasonText)\"") }
            let count: Int?
            if fields["count"] == .null { count = nil } else { count = try fields.integer("count") as Int }
            guard count.map({ $0 >= 0 }) ?? true else { throw ContractError("\"count\" is negative") }
            let event = ProcessEvent(detail: .lost(count: count, reason: reason, cpu: try fields.optionalInteger("cpu")),
                                     timestamp: timestamp)
            return ContractEvent(enriched: EnrichedEvent(event: event), ancestors: [])
        }
        guard let kind = EventKind.allCases.first(where: { $0.name == name }) else { throw ContractError("unknown event \"\(name)\"") }
        let cpu: UInt32 = try fields.integer("cpu")
        let sequence: UInt32 = try fields.integer("seq")
        var kernelDetails: KernelDetails?
        let detail: ProcessEvent.Detail
        if kind == .unknown {
            detail = .unknown(what: try fields.integer("what"), data: try fields.bytes("data"))
        } else {
            let task = TaskID(pid: try fields.integer("pid"), tid: try fields.integer("tid"))
            switch kind {
            case .fork:
                detail = .fork(parent: try fields.parent(), child: task)
                try fields.expectThread(task)
            case .exec:
                detail = .exec(task)
                kernelDetails = try fields.execDetails()
            case .uid: detail = .uid(task, real: try fields.integer("ruid"), effective: try fields.integer("euid"))
            case .gid: detail = .gid(task, real: try fields.integer("rgid"), effective: try fields.integer("egid"))
            case .sid:
                detail = .sid(task)
                guard try fields.integer("sid") as Int32 == task.pid else { throw ContractError("\"sid\" differs from \"pid\"") }
            case .ptrace:
                detail = .ptrace(task, tracer: TaskID(pid: try fields.integer("tracer_pid"), tid: try fields.integer("tracer_tid")))
            case .comm: detail = .comm(task, name: try fields.string("comm"))
            case .coredump: detail = .coredump(task, parent: try fields.parent())
            case .exit:
                let waitStatus: UInt32 = try fields.integer("exit_code")
                detail = .exit(task, waitStatus: waitStatus, exitSignal: try fields.integer("exit_signal"), parent: try fields.parent())
                try fields.expectThread(task)
                guard fields["status"] == JSONValue.status(ExitStatus(waitStatus: waitStatus)) else {
                    throw ContractError("\"status\" does not match \"exit_code\" \(waitStatus)")
                }
                kernelDetails = try fields.usage().map { KernelDetails(usage: $0) }
            case .execFailed:
                let errno: Int32 = try fields.integer("errno")
                let failure = ExecFailure(path: try fields.string("path"), commandLine: try fields.optionalStrings("cmdline") ?? [],
                                          isCommandLineCut: try fields.flag("cmdline_cut"), errno: errno)
                guard try fields.string("error") == failure.errorName else { throw ContractError("\"error\" does not name errno \(errno)") }
                detail = .execFailed(task, failure)
            case .unknown: fatalError("handled above")
            }
        }
        let event = ProcessEvent(detail: detail, timestamp: timestamp, cpu: cpu, sequence: sequence, kernelDetails: kernelDetails)
        let process = try fields.process(of: event)
        var exitRecord: TaskstatsRecord?
        if case .exit(let task, let waitStatus, _, let parent) = detail, let usage = kernelDetails?.usage {
            // The same record the kernel-side source makes of its figures: `run` and `stats`
            // account for them as they do without the daemon.
            exitRecord = TaskstatsRecord(exitOf: task, name: process?.name ?? "", parentPID: parent.pid,
                                         exitCode: waitStatus, usage: usage)
        }
        return ContractEvent(enriched: EnrichedEvent(event: event, process: process, exitRecord: exitRecord),
                             ancestors: try fields.ancestors())
    }
}

/// An object's members, read by name with their contract types.
private struct Fields {
    let value: JSONValue

    init(_ value: JSONValue) { self.value = value }

    subscript(key: String) -> JSONValue? { value[key] }

    func string(_ key: String) throws(ContractError) -> String {
        guard let text = try optionalString(key) else { throw ContractError("no \"\(key)\"") }
        return text
    }

    func optionalString(_ key: String) throws(ContractError) -> String? {
        guard let member = value[key] else { return nil }
        guard case .string(let text) = member else { throw ContractError("\"\(key)\" is not a string") }
        return text
    }

    func integer<T: FixedWidthInteger>(_ key: String) throws(ContractError) -> T {
        guard let number: T = try optionalInteger(key) else { throw ContractError("no \"\(key)\"") }
        return number
    }

    func optionalInteger<T: FixedWidthInteger>(_ key: String) throws(ContractError) -> T? {
        guard let member = value[key] else { return nil }
        guard case .number = member else { throw ContractError("\"\(key)\" is not a number") }
        guard let number = member.integer(T.self) else { throw ContractError("\"\(key)\" is not an integer within \(T.min)…\(T.max)") }
        return number
    }

    /// A `true`-or-absent flag (`cmdline_cut`, `exe_unresolved`: never written `false`).
    func flag(_ key: String) throws(ContractError) -> Bool {
        guard let member = value[key] else { return false }
        guard case .bool(let set) = member else { throw ContractError("\"\(key)\" is not a boolean") }
        return set
    }

    func optionalStrings(_ key: String) throws(ContractError) -> [String]? {
        guard let member = value[key] else { return nil }
        guard case .array(let elements) = member else { throw ContractError("\"\(key)\" is not an array") }
        var strings: [String] = []
        for element in elements {
            guard case .string(let text) = element else { throw ContractError("\"\(key)\" holds a non-string") }
            strings.append(text)
        }
        return strings
    }

    func bytes(_ key: String) throws(ContractError) -> [UInt8] {
        guard case .array(let elements) = value[key] ?? .null else { throw ContractError("no \"\(key)\" array") }
        var bytes: [UInt8] = []
        for element in elements {
            guard let byte = element.integer(UInt8.self) else { throw ContractError("\"\(key)\" holds a non-byte") }
            bytes.append(byte)
        }
        return bytes
    }

    /// `ppid` and `ptid` as the kernel sent them (`fork`, `coredump`, `exit`).
    func parent() throws(ContractError) -> TaskID {
        TaskID(pid: try integer("ppid"), tid: try integer("ptid"))
    }

    /// `thread` is derived from the task: it must be there and agree.
    func expectThread(_ task: TaskID) throws(ContractError) {
        guard case .bool(let thread) = value["thread"] ?? .null else { throw ContractError("no \"thread\" boolean") }
        guard thread == task.isThread else { throw ContractError("\"thread\" is \(thread) for pid \(task.pid) tid \(task.tid)") }
    }

    /// An exec's kernel-side details: present when the line has a `cgroup_id`, which the
    /// kernel-side source always writes and the connector never does.
    func execDetails() throws(ContractError) -> KernelDetails? {
        guard value["cgroup_id"] != nil else { return nil }
        let details = ExecDetails(
            commandLine: try optionalStrings("cmdline") ?? [], isCommandLineCut: try flag("cmdline_cut"),
            executable: try string("exe"), cgroupID: try integer("cgroup_id"), uid: try integer("uid"),
            effectiveUID: try integer("euid"), gid: try integer("gid"), effectiveGID: try integer("egid"),
            loginUID: try optionalInteger("loginuid"), isExecutableUnresolved: try flag("exe_unresolved"),
            name: try optionalString("comm"))
        return KernelDetails(exec: details)
    }

    /// An exit's kernel-side accounting: all seven figures, or none.
    func usage() throws(ContractError) -> ResourceUsage? {
        let keys = ["cpu_user_us", "cpu_system_us", "peak_rss_kb", "read_bytes", "write_bytes", "read_chars", "write_chars"]
        let present = keys.filter { value[$0] != nil }
        guard !present.isEmpty else { return nil }
        guard present.count == keys.count else {
            throw ContractError("an exit's accounting lacks \"\(keys.first { value[$0] == nil }!)\"")
        }
        return ResourceUsage(userMicroseconds: try integer("cpu_user_us"), systemMicroseconds: try integer("cpu_system_us"),
                             peakRSSKiB: try integer("peak_rss_kb"), readBytes: try integer("read_bytes"),
                             writeBytes: try integer("write_bytes"), readChars: try integer("read_chars"),
                             writeChars: try integer("write_chars"))
    }

    /// The subject as the line describes it: name, command line, executable, user, parent and
    /// (for an exit with `duration_s`) its start and end; nil when the line says nothing of it.
    func process(of event: ProcessEvent) throws(ContractError) -> ProcessRecord? {
        let name = try optionalString("comm")
        let commandLine = try optionalStrings("cmdline")
        let executable = try optionalString("exe")
        let uid: UInt32? = try optionalInteger("uid")
        var parentPID: Int32 = 0
        switch event.detail {
        case .fork(let parent, _), .coredump(_, let parent), .exit(_, _, _, let parent): parentPID = parent.pid
        default:
            parentPID = try optionalInteger("ppid") ?? 0
            guard parentPID >= 0 else { throw ContractError("\"ppid\" is negative") }
        }
        var start: UInt64?, end: UInt64?
        if let duration = value["duration_s"] {
            guard case .exit = event.detail else { throw ContractError("\"duration_s\" on a \(event.name) event") }
            guard case .number(let text) = duration, let seconds = Double(text), seconds >= 0, seconds < 1e9 else {
                throw ContractError("\"duration_s\" is not a number of seconds")
            }
            // Whole microseconds, as written: the writer's rounding gives the same text back.
            let nanoseconds = UInt64((seconds * 1_000_000).rounded()) * 1000
            let ended = Swift.max(event.timestamp.monotonicNanoseconds, nanoseconds)
            (start, end) = (ended - nanoseconds, ended)
        }
        guard event.subject != nil || name != nil || commandLine != nil || executable != nil || uid != nil || parentPID > 0
                || value["cgroup"] != nil || value["process_key"] != nil
        else { return nil }
        var record = ProcessRecord(pid: event.subject?.pid ?? 0, parentPID: parentPID, name: name ?? "",
                                   commandLine: event.carriedCommandLine == nil ? commandLine ?? [] : [],
                                   executable: executable, uid: uid, startNanoseconds: start, endNanoseconds: end)
        // An exec's own command line is the process's from then on.
        if case .exec = event.detail, let carried = event.carriedCommandLine { record.commandLine = carried }
        // The container fields follow from the path: the same parser gives them back.
        if let cgroup = try optionalString("cgroup") { record.attribute(cgroup: cgroup) }
        if let key = try optionalString("process_key") {
            guard let parsed = ProcessKey(key) else { throw ContractError("\"process_key\" is not BOOT-PID-START") }
            record.key = parsed
        }
        return record
    }

    /// `ancestry`: `[{"pid":…,"comm":…},…]`.
    func ancestors() throws(ContractError) -> [ProcessRecord] {
        guard let member = value["ancestry"] else { return [] }
        guard case .array(let elements) = member else { throw ContractError("\"ancestry\" is not an array") }
        var ancestors: [ProcessRecord] = []
        for element in elements {
            guard case .object = element, let pid = element["pid"]?.integer(Int32.self), case .string(let name) = element["comm"] ?? .null
            else { throw ContractError("\"ancestry\" holds something other than {\"pid\":…,\"comm\":…}") }
            ancestors.append(ProcessRecord(pid: pid, parentPID: 0, name: name))
        }
        return ancestors
    }
}

extension JSONValue {
    /// The contract's `status` object for a decoded wait status, as the writer writes it.
    static func status(_ status: ExitStatus) -> JSONValue {
        switch status {
        case .exited(let code): .object([("exited", .number("\(code)"))])
        case .signaled(let signal, let core): .object([("signaled", .number("\(signal)")), ("core", .bool(core))])
        }
    }
}
