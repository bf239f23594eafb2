import Testing
@testable import ProcWatch
@_spi(Benchmarks) @testable import ProcWatchCLI

/// The event contract read back (`ContractReader`): every kind and optional field survives
/// `write → read → write` byte for byte, and each class of bad line is refused in one line.
@Suite("event contract reader")
struct ContractReaderTests {
    static let when = EventTimestamp(monotonicNanoseconds: 5_314_056_874_516, unixNanoseconds: 1_795_906_456_420_978_123)
    static let task = TaskID(pid: 6544, tid: 6544)
    static let thread = TaskID(pid: 6544, tid: 6547)
    static let parent = TaskID(pid: 6543, tid: 6543)
    static let process = ProcessRecord(pid: 6544, parentPID: 6543, name: "sh", commandLine: ["sh", "-c", "sleep 0.05; exit 3"],
                                       executable: "/usr/bin/dash", uid: 1000)
    static let ended = ProcessRecord(pid: 6544, parentPID: 6543, name: "sh", commandLine: ["sh", "-c", "x"], executable: "/usr/bin/dash",
                                     uid: 0, startNanoseconds: 5_314_004_663_000, endNanoseconds: 5_314_056_874_516)
    static let usage = ResourceUsage(userMicroseconds: 1000, systemMicroseconds: 2000, peakRSSKiB: 5120, readBytes: 8192,
                                     writeBytes: 4096, readChars: 65536, writeChars: 12)
    static let awkward = ["tab\there", "quote\" back\\slash", "ctl\u{1}\u{1F}", "é ü 日本", "🦊 \u{10FFFF}", "", "/"]

    static func exec(loginUID: UInt32?, cut: Bool, unresolved: Bool) -> KernelDetails {
        KernelDetails(exec: ExecDetails(commandLine: awkward, isCommandLineCut: cut, executable: "/usr/bin/sudo", cgroupID: 4107,
                                        uid: 1000, effectiveUID: 0, gid: 1000, effectiveGID: 1000, loginUID: loginUID,
                                        isExecutableUnresolved: unresolved))
    }

    /// Every kind and every optional field, alone and together.
    static var observed: [ObservedEvent] { [
        ObservedEvent(event: ProcessEvent(detail: .fork(parent: parent, child: task), timestamp: when, cpu: 1, sequence: 259_109), process: process),
        ObservedEvent(event: ProcessEvent(detail: .fork(parent: parent, child: thread), timestamp: when), process: process),
        ObservedEvent(event: ProcessEvent(detail: .fork(parent: parent, child: task), timestamp: when)),
        ObservedEvent(event: ProcessEvent(detail: .exec(task), timestamp: when, cpu: 3, sequence: 4_294_967_295), process: process),
        ObservedEvent(event: ProcessEvent(detail: .exec(task), timestamp: when), process: ProcessRecord(pid: 6544, parentPID: 0, name: "")),
        ObservedEvent(event: ProcessEvent(detail: .exec(task), timestamp: when, kernelDetails: exec(loginUID: 1000, cut: true, unresolved: true)),
                      process: process),
        ObservedEvent(event: ProcessEvent(detail: .exec(task), timestamp: when, kernelDetails: exec(loginUID: nil, cut: false, unresolved: false)),
                      process: ProcessRecord(pid: 6544, parentPID: 1, name: "sudo")),
        ObservedEvent(event: ProcessEvent(detail: .execFailed(task, ExecFailure(path: "./nosuch", commandLine: awkward, isCommandLineCut: true, errno: 2)),
                                          timestamp: when), process: process),
        ObservedEvent(event: ProcessEvent(detail: .execFailed(task, ExecFailure(path: "x", commandLine: [], isCommandLineCut: false, errno: 4095)),
                                          timestamp: when)),
        ObservedEvent(event: ProcessEvent(detail: .uid(task, real: 0, effective: 4_294_967_295), timestamp: when), process: process),
        ObservedEvent(event: ProcessEvent(detail: .gid(task, real: 100, effective: 0), timestamp: when), process: process),
        ObservedEvent(event: ProcessEvent(detail: .sid(task), timestamp: when), process: process),
        ObservedEvent(event: ProcessEvent(detail: .ptrace(task, tracer: TaskID(pid: 700, tid: 701)), timestamp: when), process: process),
        ObservedEvent(event: ProcessEvent(detail: .ptrace(task, tracer: TaskID(pid: 0, tid: 0)), timestamp: when)),
        ObservedEvent(event: ProcessEvent(detail: .comm(thread, name: "worker \"1\""), timestamp: when), process: process),
        ObservedEvent(event: ProcessEvent(detail: .coredump(task, parent: parent), timestamp: when), process: process),
        ObservedEvent(event: ProcessEvent(detail: .coredump(task, parent: TaskID(pid: 0, tid: 0)), timestamp: when)),
        ObservedEvent(event: ProcessEvent(detail: .exit(task, waitStatus: 768, exitSignal: 17, parent: parent), timestamp: when,
                                          kernelDetails: KernelDetails(usage: usage)), process: ended),
        ObservedEvent(event: ProcessEvent(detail: .exit(task, waitStatus: 139, exitSignal: 17, parent: TaskID(pid: 0, tid: 0)), timestamp: when),
                      process: process),
        ObservedEvent(event: ProcessEvent(detail: .exit(thread, waitStatus: 0, exitSignal: -1, parent: TaskID(pid: 0, tid: 0)), timestamp: when,
                                          kernelDetails: KernelDetails(usage: ResourceUsage())), process: ended),
        ObservedEvent(event: ProcessEvent(detail: .exit(task, waitStatus: 9, exitSignal: 17, parent: parent), timestamp: when)),
        ObservedEvent(event: ProcessEvent(detail: .unknown(what: 0x1000, data: [0, 1, 255]), timestamp: when, cpu: 1, sequence: 9)),
        ObservedEvent(event: ProcessEvent(detail: .unknown(what: 7, data: []), timestamp: when)),
        ObservedEvent(event: ProcessEvent(detail: .lost(count: 12, reason: .sequenceGap, cpu: 1), timestamp: when)),
        ObservedEvent(event: ProcessEvent(detail: .lost(count: nil, reason: .overflow, cpu: nil), timestamp: when)),
        ObservedEvent(event: ProcessEvent(detail: .lost(count: 0, reason: .backlog, cpu: nil), timestamp: when)),
        ObservedEvent(event: ProcessEvent(detail: .lost(count: 1, reason: .malformed, cpu: nil), timestamp: when)),
        ObservedEvent(event: ProcessEvent(detail: .lost(count: nil, reason: .taskstats, cpu: nil), timestamp: when)),
        ObservedEvent(event: ProcessEvent(detail: .lost(count: Int.max, reason: .ringBuffer, cpu: nil), timestamp: when)),
        ObservedEvent(event: ProcessEvent(detail: .exec(task), timestamp: EventTimestamp(monotonicNanoseconds: .max, unixNanoseconds: 0)),
                      process: process, ancestors: [ProcessRecord(pid: 20, parentPID: 0, name: "make"), ProcessRecord(pid: 1, parentPID: 0, name: "sys\"temd")]),
    ] }

    static func line(_ observed: ObservedEvent) -> String { JSONRenderer().render(observed) }

    @Test(arguments: observed.map(line))
    func writeReadWriteIsByteIdentical(_ written: String) throws {
        let read = try ContractReader.read(Array(written.utf8))
        let rewritten = Self.line(ObservedEvent(event: read.enriched.event, process: read.enriched.process, ancestors: read.ancestors))
        #expect(rewritten == written)
    }

    @Test func everyKindAndLossReasonIsCovered() {
        let lines = Self.observed.map(Self.line)
        for kind in EventKind.allCases { #expect(lines.contains { $0.hasPrefix("{\"event\":\"\(kind.name)\"") }, "\(kind.name)") }
        for reason in ["seq_gap", "enobufs", "backlog", "malformed", "taskstats", "ringbuf"] {
            #expect(lines.contains { $0.hasSuffix("\"reason\":\"\(reason)\"}") }, "\(reason)")
        }
    }

    /// An exit's accounting comes back as the exit record `run` and `stats` account from.
    @Test func anExitsAccountingBecomesItsExitRecord() throws {
        let read = try ContractReader.read(Array(Self.line(Self.observed[17]).utf8))
        let record = try #require(read.enriched.exitRecord)
        #expect(ResourceUsage(record) == ResourceUsage(userMicroseconds: 1000, systemMicroseconds: 2000, peakRSSKiB: 5120, readBytes: 8192,
                                                       writeBytes: 4096, readChars: 65536, writeChars: 12))
        #expect(record.id == 6544 && record.pid == 6544 && record.parentPID == 6543 && record.exitCode == 768 && record.name == "sh")
        #expect(read.enriched.process?.lifetimeSeconds == 0.052212)
        #expect(read.enriched.event.exitStatus == .exited(3))
    }

    /// The published examples of docs/events.md, read and written again.
    @Test(arguments: [
        #"{"event":"exec","time":"2026-11-22T22:54:16.420978Z","ktime_ns":5314056874516,"cpu":1,"seq":259109,"pid":6544,"tid":6544,"ppid":6543,"comm":"sh","cmdline":["sh","-c","sleep 0.05; exit 3"],"exe":"/usr/bin/dash","uid":0}"#,
        #"{"event":"exit","time":"2026-11-22T22:54:16.472889Z","ktime_ns":5314108785457,"cpu":1,"seq":259113,"pid":6544,"tid":6544,"ppid":6543,"ptid":6543,"thread":false,"comm":"sh","cmdline":["sh","-c","sleep 0.05; exit 3"],"exe":"/usr/bin/dash","uid":0,"exit_code":768,"exit_signal":17,"status":{"exited":3},"duration_s":0.052211}"#,
        #"{"event":"lost","time":"2026-11-22T22:54:17.002113Z","ktime_ns":5314638009871,"cpu":1,"count":12,"reason":"seq_gap"}"#,
        #"{"event":"exec_failed","time":"2026-11-25T10:00:00.000001Z","ktime_ns":1000000000,"cpu":0,"seq":0,"pid":4242,"tid":4242,"ppid":4200,"comm":"bash","cmdline":["nosuch","arg1"],"exe":"/usr/bin/bash","uid":1000,"path":"/usr/bin/nosuch","errno":2,"error":"ENOENT"}"#,
        #"{"event":"exec","time":"2026-11-25T10:00:00.000002Z","ktime_ns":1000001000,"cpu":1,"seq":0,"pid":4243,"tid":4243,"ppid":4200,"euid":0,"egid":1000,"comm":"sudo","cmdline":["sudo","-n","true"],"exe":"/usr/bin/sudo","uid":1000,"gid":1000,"loginuid":1000,"cgroup_id":4107}"#,
        #"{"event":"exit","time":"2026-11-25T10:00:00.000003Z","ktime_ns":1000002000,"cpu":1,"seq":0,"pid":4243,"tid":4243,"ppid":4200,"ptid":4200,"thread":false,"comm":"sudo","cmdline":["sudo","-n","true"],"exe":"/usr/bin/sudo","uid":0,"exit_code":256,"exit_signal":17,"status":{"exited":1},"duration_s":0.004000,"cpu_user_us":1000,"cpu_system_us":2000,"peak_rss_kb":5120,"read_bytes":0,"write_bytes":0,"read_chars":4096,"write_chars":12}"#,
    ])
    func documentedExamplesRoundTrip(_ line: String) throws {
        let read = try ContractReader.read(Array(line.utf8))
        #expect(Self.line(ObservedEvent(event: read.enriched.event, process: read.enriched.process, ancestors: read.ancestors)) == line)
    }

    static let base = #""time":"2026-11-22T22:54:16.420978Z","ktime_ns":1,"cpu":0,"seq":0"#

    @Test(arguments: [
        ("", "not JSON: unexpected end at byte 0"),
        ("[1]", "not a JSON object"),
        (#"{"event":"exec""#, "not JSON: unexpected end at byte 15"),
        (#"{"a":1,}"#, "not JSON: expected a member name at byte 7"),
        (#"{"a":1,"a":2}"#, "not JSON: duplicate member \"a\" at byte 10"),
        (#"{"a":"\x"}"#, "not JSON: unknown escape in a string at byte 7"),
        (#"{"a":"\ud800x"}"#, "not JSON: unpaired surrogate in a string at byte 12"),
        (#"{"a":"\udc00"}"#, "not JSON: unpaired surrogate in a string at byte 12"),
        (#"{"a":"\u12g4"}"#, "not JSON: bad \\u escape at byte 10"),
        (#"{"a":01}"#, "not JSON: a number cannot start with 0 at byte 7"),
        (#"{"a":1.}"#, "not JSON: a number needs digits after '.' at byte 7"),
        (#"{"a":-}"#, "not JSON: a number needs digits at byte 6"),
        ("{\"a\":\"\u{1}\"}", "not JSON: control character in a string at byte 6"),
        (#"{"a":tru}"#, "not JSON: unexpected character at byte 5"),
        (#"{"a":1} x"#, "not JSON: unexpected text after the JSON value at byte 8"),
        (String(repeating: "[", count: 40), "not JSON: nested deeper than 32 levels at byte 32"),
        (#"{"time":"2026-11-22T22:54:16.420978Z"}"#, "no \"event\""),
        (#"{"event":"teleport","#  + base + "}", "unknown event \"teleport\""),
        (#"{"event":"exec","#  + base + "}", "no \"pid\""),
        (#"{"event":"exec","#  + base + #","pid":"1","tid":1}"#, "\"pid\" is not a number"),
        (#"{"event":"exec","#  + base + #","pid":99999999999,"tid":1}"#, "\"pid\" is not an integer within -2147483648…2147483647"),
        (#"{"event":"exec","#  + base + #","pid":1.5,"tid":1}"#, "\"pid\" is not an integer within -2147483648…2147483647"),
        (#"{"event":"exec","time":"2026-02-30T00:00:00.000000Z","ktime_ns":1,"cpu":0,"seq":0,"pid":1,"tid":1}"#,
         "\"time\" is not RFC 3339 UTC with microseconds: 2026-02-30T00:00:00.000000Z"),
        (#"{"event":"exec","time":"2026-01-01T00:00:00Z","ktime_ns":1,"cpu":0,"seq":0,"pid":1,"tid":1}"#,
         "\"time\" is not RFC 3339 UTC with microseconds: 2026-01-01T00:00:00Z"),
        (#"{"event":"exit","#  + base + #","pid":1,"tid":1,"ppid":0,"ptid":0,"thread":false,"exit_code":256,"exit_signal":17,"status":{"exited":2}}"#,
         "\"status\" does not match \"exit_code\" 256"),
        (#"{"event":"exit","#  + base + #","pid":1,"tid":2,"ppid":0,"ptid":0,"thread":false,"exit_code":0,"exit_signal":17,"status":{"exited":0}}"#,
         "\"thread\" is false for pid 1 tid 2"),
        (#"{"event":"exit","#  + base + #","pid":1,"tid":1,"ppid":0,"ptid":0,"thread":false,"exit_code":0,"exit_signal":17,"status":{"exited":0},"cpu_user_us":1}"#,
         "an exit's accounting lacks \"cpu_system_us\""),
        (#"{"event":"exec_failed","#  + base + #","pid":1,"tid":1,"path":"x","errno":2,"error":"EPERM"}"#, "\"error\" does not name errno 2"),
        (#"{"event":"sid","#  + base + #","pid":1,"tid":1,"sid":2}"#, "\"sid\" differs from \"pid\""),
        (#"{"event":"lost","time":"2026-11-22T22:54:16.420978Z","ktime_ns":1,"count":1,"reason":"gremlins"}"#, "unknown loss reason \"gremlins\""),
        (#"{"event":"lost","time":"2026-11-22T22:54:16.420978Z","ktime_ns":1,"count":-1,"reason":"backlog"}"#, "\"count\" is negative"),
        (#"{"event":"exec","#  + base + #","pid":1,"tid":1,"cmdline":["a",1]}"#, "\"cmdline\" holds a non-string"),
        (#"{"event":"exec","#  + base + #","pid":1,"tid":1,"cgroup_id":1}"#, "no \"exe\""),
    ])
    func badLinesAreNamed(_ line: String, _ message: String) {
        #expect(throws: ContractError(message)) { try ContractReader.read(Array(line.utf8)) }
    }

    @Test func invalidUTF8AndOversizedLinesAreRefused() {
        #expect(throws: ContractError("not JSON: invalid UTF-8 in a string at byte 6")) {
            try ContractReader.read(Array(#"{"a":""#.utf8) + [0xFF] + Array(#""}"#.utf8))
        }
        #expect(throws: ContractError("not JSON: longer than 1048576 bytes")) {
            try ContractReader.read([UInt8](repeating: UInt8(ascii: " "), count: (1 << 20) + 1))
        }
    }

    @Test func escapesAndSurrogatePairsDecode() throws {
        let value = try JSONValue.parse(Array(#"["\"\\\/\b\f\n\r\t\u0041\u00e9\ud83e\udd8a"]"#.utf8))
        #expect(value == .array([.string("\"\\/\u{8}\u{C}\n\r\tAé🦊")]))
        #expect(try JSONValue.parse(Array(" {\"n\":-0.5e+3,\"t\":true,\"f\":false,\"z\":null} ".utf8))
                == .object([("n", .number("-0.5e+3")), ("t", .bool(true)), ("f", .bool(false)), ("z", .null)]))
        #expect(try JSONValue.parse(Array(#"18446744073709551615"#.utf8)).integer(UInt64.self) == .max)
    }
}
