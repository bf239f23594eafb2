import Testing
@testable import ProcWatch
@_spi(Benchmarks) @testable import ProcWatchCLI

/// The /proc scanner on a scripted /proc: what it reports of processes appearing, exec'ing,
/// dying as zombies or vanishing, and the exact count of tasks it missed between two scans
/// from the pid namespace's last allocated pid.
@Suite("The /proc scanner")
struct ProcScannerTests {
    let now = EventTimestamp(monotonicNanoseconds: 5_000_000_000, unixNanoseconds: 1_795_383_915_899_078_000)

    /// A /proc with the namespace's init (pid 1) and ns_last_pid 1, scanned once.
    func baseline() -> (ScriptedProcFS, ProcScanner) {
        let files = ScriptedProcFS()
        files[1] = .init(parent: 0, name: "init", commandLine: ["init"], start: 1_000)
        files.lastPID = 1
        var scanner = ProcScanner(files: files)
        #expect(scanner.scan(now: now, bootOffset: 0).events == [])
        return (files, scanner)
    }

    func event(_ detail: ProcessEvent.Detail, at time: EventTimestamp? = nil, statusKnown: Bool = true) -> ProcessEvent {
        ProcessEvent(detail: detail, timestamp: time ?? now, origin: .procfs, isExitStatusKnown: statusKnown)
    }

    func task(_ pid: Int32) -> TaskID { TaskID(pid: pid, tid: pid) }

    @Test func pidGapsCountTheTasksNoScanSaw() {
        var (files, scanner) = baseline()
        // Numbers 2…7 were handed out: 5 is listed, 3 is a live thread; 2, 4, 6 and 7 came and went.
        files[5] = .init(parent: 1, name: "sleep", commandLine: ["sleep", "1"], start: 4_000_000_000)
        files.liveThreads = [3]
        files.lastPID = 7
        let started = EventTimestamp(monotonicNanoseconds: 4_000_000_000, unixNanoseconds: 1_795_383_914_899_078_000)
        #expect(scanner.scan(now: now, bootOffset: 0).events == [
            event(.fork(parent: task(1), child: task(5)), at: started),
            event(.exec(task(5))),
            event(.lost(count: 4, reason: .scanGap, cpu: nil)),
        ])
        // Nothing handed out since: no loss.
        #expect(scanner.scan(now: now, bootOffset: 0).events == [])
        // A pid listed after ns_last_pid was read (8 > 7) is not counted missing at the next scan.
        files[8] = .init(parent: 1, name: "init", commandLine: ["init"], start: 4_500_000_000)
        let afterRead = scanner.scan(now: now, bootOffset: 0).events
        #expect(afterRead.map(\.name) == ["fork"])
        files.lastPID = 9
        #expect(scanner.scan(now: now, bootOffset: 0).events == [event(.lost(count: 1, reason: .scanGap, cpu: nil))])
        // Wrapped past pid_max: which numbers were handed out is unknown.
        files.lastPID = 2
        #expect(scanner.scan(now: now, bootOffset: 0).events == [event(.lost(count: nil, reason: .scanGap, cpu: nil))])
    }

    @Test func withoutNSLastPIDNothingIsCounted() {
        var (files, scanner) = baseline()
        files.lastPID = nil
        files[40] = .init(parent: 1, name: "init", commandLine: ["init"], start: 2_000)
        #expect(scanner.scan(now: now, bootOffset: 0).events.map(\.name) == ["fork"])
    }

    @Test func zombiesGiveTheirStatusAndVanishedProcessesNone() {
        var (files, scanner) = baseline()
        files.lastPID = 3
        files[2] = .init(parent: 1, name: "sh", commandLine: ["sh", "-c", "x"], start: 2_000)
        files[3] = .init(parent: 2, name: "sh", commandLine: ["sh", "-c", "x"], start: 3_000)
        // The child of sh runs what sh runs: a fork, no exec.
        #expect(scanner.scan(now: now, bootOffset: 0).events == [
            event(.fork(parent: task(1), child: task(2)),
                  at: EventTimestamp(monotonicNanoseconds: 2_000, unixNanoseconds: now.unixNanoseconds - 5_000_000_000 + 2_000)),
            event(.exec(task(2))),
            event(.fork(parent: task(2), child: task(3)),
                  at: EventTimestamp(monotonicNanoseconds: 3_000, unixNanoseconds: now.unixNanoseconds - 5_000_000_000 + 3_000)),
        ])
        // It exec'd sleep (a new name), then became a zombie that exited 3.
        files[3]?.name = "sleep"
        files[3]?.commandLine = ["sleep", "0.3"]
        #expect(scanner.scan(now: now, bootOffset: 0).events == [event(.exec(task(3)))])
        files[3]?.state = UInt8(ascii: "Z")
        files[3]?.exitCode = 768
        #expect(scanner.scan(now: now, bootOffset: 0).events
            == [event(.exit(task(3), waitStatus: 768, exitSignal: 17, parent: task(2)))])
        // Reaped: no second exit. sh vanishes without a zombie seen: an exit with no status.
        files[3] = nil
        files[2] = nil
        #expect(scanner.scan(now: now, bootOffset: 0).events
            == [event(.exit(task(2), waitStatus: 0, exitSignal: 17, parent: task(1)), statusKnown: false)])
    }

    @Test func aForksExecThatKeepsTheNameIsSeenWhileWatched() {
        var (files, scanner) = baseline()
        files[2] = .init(parent: 1, name: "sh", commandLine: ["sh", "-c", "a"], start: 2_000)
        _ = scanner.scan(now: now, bootOffset: 0)
        files[3] = .init(parent: 2, name: "sh", commandLine: ["sh", "-c", "a"], start: 3_000)
        #expect(scanner.scan(now: now, bootOffset: 0).events.map(\.name) == ["fork"])
        files[3]?.commandLine = ["sh", "-c", "b"]
        #expect(scanner.scan(now: now, bootOffset: 0).events == [event(.exec(task(3)))])
        // Once past the watch, only a new name is an exec.
        files[4] = .init(parent: 2, name: "sh", commandLine: ["sh", "-c", "a"], start: 4_000)
        _ = scanner.scan(now: now, bootOffset: 0)
        files[4]?.commandLine = ["sh", "-c", "c"]
        let later = EventTimestamp(monotonicNanoseconds: now.monotonicNanoseconds + ProcScanner.execWatch,
                                   unixNanoseconds: now.unixNanoseconds)
        #expect(scanner.scan(now: later, bootOffset: 0).events == [])
    }

    @Test func aNewNameUnderTheSameCommandLineIsAComm() {
        var (files, scanner) = baseline()
        // A kernel thread (no command line) taking other work, and a program that renames itself.
        files[2] = .init(parent: 0, name: "kworker/1:1-events", commandLine: [], start: 2_000)
        files[3] = .init(parent: 1, name: "server", commandLine: ["server", "-d"], start: 3_000)
        _ = scanner.scan(now: now, bootOffset: 0)
        files[2]?.name = "kworker/1:1-mm_percpu_wq"
        files[3]?.name = "server: idle"
        // (In the listing's order, which a scripted /proc does not fix.)
        let renamed = scanner.scan(now: now, bootOffset: 0).events
        #expect(renamed.count == 2)
        #expect(renamed.contains(event(.comm(task(2), name: "kworker/1:1-mm_percpu_wq"))))
        #expect(renamed.contains(event(.comm(task(3), name: "server: idle"))))
        // A new command line with the new name is the exec.
        files[3]?.name = "worker"
        files[3]?.commandLine = ["worker"]
        #expect(scanner.scan(now: now, bootOffset: 0).events == [event(.exec(task(3)))])
    }

    @Test func aReusedPidIsANewProcess() {
        var (files, scanner) = baseline()
        files[9] = .init(parent: 1, name: "a", commandLine: ["a"], start: 2_000)
        _ = scanner.scan(now: now, bootOffset: 0)
        files[9] = .init(parent: 1, name: "b", commandLine: ["b"], start: 3_000)
        #expect(scanner.scan(now: now, bootOffset: 0).events.map(\.name) == ["exit", "fork", "exec"])
    }

    @Test func theAdoptersZombiesAreHandedBackForReaping() {
        var (files, scanner) = baseline()
        files[2] = .init(parent: 1, name: "sh", commandLine: ["sh"], start: 2_000)
        files[3] = .init(parent: 2, name: "sleep", commandLine: ["sleep"], start: 3_000)
        #expect(scanner.scan(now: now, bootOffset: 0, adopter: 1).reapable == [])
        // sh is gone; sleep, adopted by 1, is a zombie: its status is read, then it is reaped.
        files[2] = nil
        files[3] = .init(parent: 1, name: "sleep", commandLine: [], start: 3_000, state: UInt8(ascii: "Z"), exitCode: 0)
        #expect(scanner.scan(now: now, bootOffset: 0, adopter: 1).reapable == [3])
        // Another's zombie is its parent's to reap.
        files[4] = .init(parent: 7, name: "x", commandLine: ["x"], start: 4_000, state: UInt8(ascii: "Z"), exitCode: 0)
        #expect(scanner.scan(now: now, bootOffset: 0, adopter: 1).reapable == [])
    }

    @Test func statLineParsing() {
        let line = Array("42 (a (b) c) Z 7 42 42 0 -1 4194828 0 0 0 0 1 2 0 0 20 0 1 0 250 0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 768\n".utf8)
        #expect(ScannedStat.parse(line[...], clockTicks: 100)
            == ScannedStat(parent: 7, state: UInt8(ascii: "Z"), startSinceBoot: 2_500_000_000, name: "a (b) c", exitCode: 768))
    }

    @Test func anExitWithoutStatusLeavesTheStatusFieldsOut() {
        let exit = ProcessEvent(detail: .exit(task(3), waitStatus: 0, exitSignal: 17, parent: task(1)), timestamp: now,
                                origin: .procfs, isExitStatusKnown: false)
        #expect(JSONRenderer().render(ObservedEvent(event: exit))
            == #"{"event":"exit","time":"2026-11-22T21:45:15.899078Z","ktime_ns":5000000000,"source":"procfs","pid":3,"tid":3,"ppid":1,"ptid":1,"thread":false}"#)
        let lost = ProcessEvent(detail: .lost(count: 4, reason: .scanGap, cpu: nil), timestamp: now, origin: .procfs)
        #expect(JSONRenderer().render(ObservedEvent(event: lost))
            == #"{"event":"lost","time":"2026-11-22T21:45:15.899078Z","ktime_ns":5000000000,"source":"procfs","count":4,"reason":"scan_gap"}"#)
    }

    @Test func namespaceSummaries() {
        #expect(NamespaceView.userMap("         0       1000          1\n") == "0 1000 1")
        let user = NamespaceView(userMap: "0 1000 1", isNestedPIDNamespace: true)
        #expect(user.summary == "in a user namespace (uid_map 0 1000 1) and a pid namespace of its own")
        #expect(user.connectorIgnoresListen)
        #expect(user.kernelNote == nil)
        let network = NamespaceView(isOtherNetworkNamespace: true)
        #expect(!network.connectorIgnoresListen)
        #expect(network.kernelNote
            == "in a network namespace of its own: the connector is refused there, BPF sees every process of the machine")
        #expect(NamespaceView().summary == nil)
    }
}
