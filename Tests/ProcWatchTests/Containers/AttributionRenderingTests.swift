import Testing
@testable import ProcWatch
@_spi(Benchmarks) @testable import ProcWatchCLI

/// The attribution fields in the JSON view (contract order, the key as ``ProcessKey``
/// writes it) and the CONTAINER column of the text view.
@Suite struct AttributionRenderingTests {
    let stamp = EventTimestamp(monotonicNanoseconds: 5_000_000_000, unixNanoseconds: 1_795_383_915_899_078_000)
    static let id = String(repeating: "0123456789abcdef", count: 4)
    static let pod = "1a2b3c4d-5e6f-4a0b-9c8d-7e6f5a4b3c2d"

    func podProcess() -> ProcessRecord {
        var process = ProcessRecord(pid: 42, parentPID: 1, name: "nginx", commandLine: ["nginx"], uid: 0)
        process.key = ProcessKey(pid: 42, startNanoseconds: 4_000_000_123)
        process.attribute(cgroup: "/kubepods/burstable/pod\(Self.pod)/\(Self.id)")
        return process
    }

    @Test func jsonCarriesKeyCgroupAndPod() {
        let event = ProcessEvent(detail: .comm(TaskID(pid: 42, tid: 42), name: "nginx"), timestamp: stamp, cpu: 0, sequence: 3)
        let line = JSONRenderer().render(ObservedEvent(event: event, process: podProcess()))
        #expect(line == #"{"event":"comm","time":"2026-11-22T21:45:15.899078Z","ktime_ns":5000000000,"cpu":0,"seq":3,"pid":42,"tid":42,"process_key":"\#(ProcessKey.boot)-42-4000000123","ppid":1,"comm":"nginx","cmdline":["nginx"],"uid":0,"cgroup":"/kubepods/burstable/pod\#(Self.pod)/\#(Self.id)","container_id":"\#(Self.id)","pod_uid":"\#(Self.pod)","pod_qos":"burstable"}"#)
        // The bytes the JSON view writes are the key's own text.
        #expect(line.contains("\"process_key\":\"\(ProcessKey(pid: 42, startNanoseconds: 4_000_000_123).description)\""))
    }

    @Test func containerColumnShowsTwelveCharactersOrADash() {
        var style = TextRenderer.Style()
        style.container = true
        let renderer = TextRenderer(style: style)
        #expect(renderer.header == "TIME            EVENT        PID    PPID CONTAINER    INFO                      DURATION PROCESS")
        let event = ProcessEvent(detail: .exec(TaskID(pid: 42, tid: 42)), timestamp: stamp)
        #expect(renderer.render(ObservedEvent(event: event, process: podProcess())).hasPrefix("21:45:15.899078 exec          42       1 0123456789ab "))
        let host = ProcessRecord(pid: 42, parentPID: 1, name: "sh", commandLine: ["sh"])
        #expect(renderer.render(ObservedEvent(event: event, process: host)).hasPrefix("21:45:15.899078 exec          42       1 -            "))
    }
}
