import Testing
@testable import ProcWatch
@_spi(Benchmarks) @testable import ProcWatchCLI

/// The live view's renderers on fixed events (no kernel).
@Suite("Renderers")
struct RendererTests {
    let stamp = EventTimestamp(monotonicNanoseconds: 5_000_000_000, unixNanoseconds: 1_795_383_915_899_078_000)

    @Test func lostEventsInJSONAndText() {
        let gap = ObservedEvent(event: ProcessEvent(detail: .lost(count: 1234, reason: .sequenceGap, cpu: 1), timestamp: stamp, cpu: 1))
        #expect(JSONRenderer().render(gap)
            == #"{"event":"lost","time":"2026-11-22T21:45:15.899078Z","ktime_ns":5000000000,"cpu":1,"count":1234,"reason":"seq_gap"}"#)
        let overflow = ObservedEvent(event: ProcessEvent(detail: .lost(count: nil, reason: .overflow, cpu: nil), timestamp: stamp))
        #expect(JSONRenderer().render(overflow)
            == #"{"event":"lost","time":"2026-11-22T21:45:15.899078Z","ktime_ns":5000000000,"count":null,"reason":"enobufs"}"#)
        let text = TextRenderer(style: .init()).render(gap)
        #expect(text == "21:45:15.899078 lost                     lost 1234 events (seq_gap, cpu 1)")
    }

    @Test func exitInJSONCarriesTheDecodedStatusAndLifetime() {
        let task = TaskID(pid: 42, tid: 42)
        let event = ProcessEvent(detail: .exit(task, waitStatus: 139, exitSignal: 17, parent: TaskID(pid: 1, tid: 1)),
                                 timestamp: stamp, cpu: 0, sequence: 7)
        let process = ProcessRecord(pid: 42, parentPID: 1, name: "crash\"er", commandLine: ["/bin/crash", "a b"],
                                    executable: "/bin/crash", uid: 1000, startNanoseconds: 4_000_000_000,
                                    endNanoseconds: 5_000_000_000)
        #expect(JSONRenderer().render(ObservedEvent(event: event, process: process))
            == #"{"event":"exit","time":"2026-11-22T21:45:15.899078Z","ktime_ns":5000000000,"cpu":0,"seq":7,"pid":42,"tid":42,"ppid":1,"ptid":1,"thread":false,"comm":"crash\"er","cmdline":["/bin/crash","a b"],"exe":"/bin/crash","uid":1000,"exit_code":139,"exit_signal":17,"status":{"signaled":11,"core":true},"duration_s":1.000000}"#)
        let line = TextRenderer(style: .init()).render(ObservedEvent(event: event, process: process))
        #expect(line.contains(" SIGSEGV (core dumped) ") && line.contains("   1.000s /bin/crash a b"), "\(line)")
    }

    @Test func ancestryAndNameStyles() {
        let event = ProcessEvent(detail: .exec(TaskID(pid: 30, tid: 30)), timestamp: stamp)
        let process = ProcessRecord(pid: 30, parentPID: 20, name: "cc1", commandLine: ["/usr/lib/gcc/cc1", "-quiet"])
        let ancestors = [ProcessRecord(pid: 20, parentPID: 10, name: "make"), ProcessRecord(pid: 10, parentPID: 1, name: "bash")]
        var style = TextRenderer.Style()
        style.ancestry = true
        let observed = ObservedEvent(event: event, process: process, previousName: "make", ancestors: ancestors)
        #expect(TextRenderer(style: style).render(observed).hasSuffix("/usr/lib/gcc/cc1 -quiet  [bash → make → cc1]"))
        style.ancestry = false
        style.name = .short
        style.stripDirectory = true
        #expect(TextRenderer(style: style).render(observed).hasSuffix(" cc1"))
        #expect(JSONRenderer().render(observed).hasSuffix(#""ancestry":[{"pid":20,"comm":"make"},{"pid":10,"comm":"bash"}]}"#))
    }

    @Test func extraColumnsShowUserEffectiveUserAndTerminal() {
        // A set-user-ID program: real user nobody, effective user root. Pid 4000002 does not
        // exist (above pid_max), so its terminal is unknown: "?".
        let event = ProcessEvent(detail: .exec(TaskID(pid: 4_000_002, tid: 4_000_002)), timestamp: stamp)
        let process = ProcessRecord(pid: 4_000_002, parentPID: 1, name: "passwd", commandLine: ["/usr/bin/passwd"],
                                    uid: 65534, effectiveUID: 0)
        var style = TextRenderer.Style()
        style.extra = true
        let renderer = TextRenderer(style: style)
        #expect(renderer.header == "TIME            EVENT        PID    PPID UID      EUID     TTY     INFO                      DURATION PROCESS")
        // Blank INFO (24) and DURATION (9) columns between TTY and the command line.
        #expect(renderer.render(ObservedEvent(event: event, process: process))
            == "21:45:15.899078 exec     4000002       1 nobody   root     ?" + String(repeating: " ", count: 42) + "/usr/bin/passwd")
    }

    @Test func detachNamesTheTracerOfTheAttach() {
        // Pids above pid_max: the table reads nothing from /proc for them.
        let table = ProcessTable(seed: false)
        let tracee = TaskID(pid: 4_000_002, tid: 4_000_002)
        let attach = ProcessEvent(detail: .ptrace(tracee, tracer: TaskID(pid: 4_000_001, tid: 4_000_001)), timestamp: stamp)
        let detach = ProcessEvent(detail: .ptrace(tracee, tracer: TaskID(pid: 0, tid: 0)), timestamp: stamp)
        let renderer = TextRenderer(style: .init())
        #expect(renderer.info(ObservedEvent(event: attach, process: table.apply(attach))) == "attach by 4000001")
        let detached = ObservedEvent(event: detach, process: table.apply(detach))
        #expect(renderer.info(detached) == "detach from 4000001")
        // JSON passes on what the kernel sent, as the contract says: both 0 on detach.
        #expect(JSONRenderer().render(detached).contains(#""tracer_pid":0,"tracer_tid":0"#), "\(JSONRenderer().render(detached))")
        // Without an attach seen (it came before the watch started): plain "detach".
        #expect(renderer.info(ObservedEvent(event: detach, process: ProcessRecord(pid: 4_000_002, parentPID: 1, name: "x"))) == "detach")
    }

    @Test func wallClockFormatting() {
        #expect(WallClock.rfc3339(unixNanoseconds: 0) == "1970-01-01T00:00:00.000000Z")
        #expect(WallClock.rfc3339(unixNanoseconds: 951_782_400_000_001_000) == "2000-02-29T00:00:00.000001Z")
        #expect(WallClock.rfc3339(unixNanoseconds: -1_000) == "1969-12-31T23:59:59.999999Z")
        #expect(WallClock.timeOfDay(unixNanoseconds: 3_600_000_000_000, utcOffsetSeconds: 7200) == "03:00:00.000000")
    }

    @Test func eventSelectionVocabulary() throws {
        let selection = try EventSelection(parsing: "clone,exit,core")
        #expect(selection.threadForks && !selection.processForks)
        #expect(selection.kinds == [.fork, .exit, .coredump])
        #expect(try EventSelection(parsing: "nonzeroexit").subscription == [.fork, .exec, .comm, .uid, .failedExit])
        #expect(try EventSelection(parsing: "exit,nonzeroexit").kinds == [.exit])
        #expect(throws: SelectionError(name: "forks")) { try EventSelection(parsing: "fork,forks") }
    }
}
