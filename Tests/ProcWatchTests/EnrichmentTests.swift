import Testing
@testable import ProcWatch

/// The enrichment stage against a scripted /proc and scripted exit records: what it reads
/// first, and what each consumer gets when processes vanish, exec twice or reuse a pid.
@Suite("Enrichment stage (scripted /proc)")
struct EnrichmentTests {
    func task(_ pid: Int32, _ tid: Int32? = nil) -> TaskID { TaskID(pid: pid, tid: tid ?? pid) }

    func event(_ detail: ProcessEvent.Detail, at time: UInt64, cpu: UInt32 = 0) -> ProcessEvent {
        ProcessEvent(detail: detail, timestamp: EventTimestamp(monotonicNanoseconds: time, unixNanoseconds: Int64(time)), cpu: cpu)
    }

    func exit(_ pid: Int32, _ tid: Int32? = nil, status: UInt32 = 0, parent: Int32 = 100, at time: UInt64) -> ProcessEvent {
        event(.exit(task(pid, tid), waitStatus: status, exitSignal: tid == nil ? 17 : -1, parent: task(parent)), at: time)
    }

    @Test func everyExecOfABatchIsReadBeforeAnythingElse() {
        let files = ScriptedProcFS()
        files[201] = .init(parent: 100, name: "sed", commandLine: ["sed", "-e", "s/a/b/"], executable: "/usr/bin/sed")
        files[202] = .init(parent: 100, name: "expr", commandLine: ["expr", "1", "+", "1"], executable: "/usr/bin/expr")
        files[100] = .init(name: "sh", commandLine: ["sh", "configure"])
        let driver = StageDriver(files: files)
        let enriched = driver.batch([
            event(.fork(parent: task(100), child: task(201)), at: 1),
            event(.exec(task(201)), at: 2),
            event(.fork(parent: task(100), child: task(202)), at: 3),
            event(.exec(task(202)), at: 4),
        ])
        // Both command lines before both names, before the fork's parent was looked up.
        #expect(files.reads == ["cmdline 201", "cmdline 202", "comm 201", "exe 201", "comm 202", "exe 202", "snapshot 100"])
        #expect(enriched.map { $0.process?.commandLine ?? [] } == [
            ["sh", "configure"], ["sed", "-e", "s/a/b/"], ["sh", "configure"], ["expr", "1", "+", "1"],
        ])
        #expect(enriched[1].process?.executable == "/usr/bin/sed")
        #expect(enriched[1].previous?.name == "sh")
        #expect(enriched[1].process?.name == "sed")
    }

    @Test func anExecWhoseProcessIsGoneIsNamedByItsExitRecord() {
        let records = ScriptedExitRecords()
        let driver = StageDriver(exitRecords: records)
        _ = driver.batch([event(.fork(parent: task(100), child: task(300)), at: 1)])
        // Reaped before the batch with its exec was handled: /proc has nothing, the record is queued.
        records.exited(300, name: "sed", userMicroseconds: 1500)
        let exec = driver.batch([event(.exec(task(300)), at: 2)])
        #expect(exec.map { $0.process?.name } == ["sed"])
        #expect(exec.map { $0.process?.commandLine } == [[]])
        let exit = driver.batch([exit(300, at: 3)])
        #expect(exit.map { $0.exitRecord?.name } == ["sed"])
        #expect(exit.map { $0.exitRecord?.userMicroseconds } == [1500])
        #expect(exit.map { $0.process?.endNanoseconds } == [3])
    }

    @Test func anExecAndItsExitInOneBatch() {
        let files = ScriptedProcFS()
        // Still a zombie when the batch arrives: /proc would show its name, but its command
        // line went before the exit event was sent; it is not read at all.
        files[400] = .init(name: "true", commandLine: [])
        let records = ScriptedExitRecords()
        records.exited(400, name: "true")
        let driver = StageDriver(files: files, exitRecords: records)
        let enriched = driver.batch([
            event(.fork(parent: task(100), child: task(400)), at: 1),
            event(.exec(task(400)), at: 2),
            exit(400, status: 256, at: 3),
        ])
        #expect(files.reads.filter { $0.hasSuffix(" 400") } == [])
        #expect(enriched.map { $0.process?.name } == ["", "true", "true"])
        #expect(enriched.map { $0.exitRecord?.name } == [nil, nil, "true"])
        #expect(enriched[2].event.exitStatus == .exited(1))
    }

    @Test func aForkThatArrivesAfterItsChildsExec() {
        let files = ScriptedProcFS()
        files[500] = .init(parent: 100, name: "cc1", commandLine: ["cc1", "a.c"])
        files[100] = .init(name: "cc", commandLine: ["cc", "-c", "a.c"])
        let driver = StageDriver(files: files)
        // The child ran and exec'd on CPU 1 before its parent's fork event was queued on CPU 0.
        let enriched = driver.batch([
            event(.exec(task(500)), at: 20, cpu: 1),
            event(.fork(parent: task(100), child: task(500)), at: 10, cpu: 0),
        ])
        #expect(enriched.map { $0.process?.commandLine } == [["cc1", "a.c"], ["cc1", "a.c"]])
        #expect(enriched[1].process?.parentPID == 100)
        #expect(enriched[1].process?.startNanoseconds == 10)
    }

    @Test func aPidReusedWithinOneBatch() {
        let files = ScriptedProcFS()
        files[600] = .init(parent: 100, name: "grep", commandLine: ["grep", "-q", "x"])
        let records = ScriptedExitRecords()
        records.exited(600, name: "sed")
        let driver = StageDriver(files: files, exitRecords: records)
        let enriched = driver.batch([
            event(.fork(parent: task(100), child: task(600)), at: 1),
            event(.exec(task(600)), at: 2),                  // the old process: sed
            exit(600, at: 3),
            event(.fork(parent: task(100), child: task(600)), at: 4),
            event(.exec(task(600)), at: 5),                  // the new one: grep
        ])
        #expect(files.reads.filter { $0.hasPrefix("cmdline") } == ["cmdline 600"])
        #expect(enriched.map { $0.process?.name } == ["", "sed", "sed", "", "grep"])
        #expect(enriched.map { $0.process?.commandLine } == [[], [], [], [], ["grep", "-q", "x"]])
        #expect(enriched[2].exitRecord?.name == "sed")
    }

    @Test func twoExecsOfOneProcessInOneBatch() {
        let files = ScriptedProcFS()
        files[700] = .init(parent: 100, name: "make", commandLine: ["make", "all"])
        let driver = StageDriver(files: files)
        let enriched = driver.batch([
            event(.exec(task(700)), at: 1),   // sh -c 'exec make all': nothing describes this one now
            event(.exec(task(700)), at: 2),
        ])
        #expect(enriched.map { $0.process?.name } == ["", "make"])
        #expect(enriched.map { $0.process?.commandLine } == [[], ["make", "all"]])
    }

    @Test func aThreadsExitCarriesTheThreadsRecord() {
        let records = ScriptedExitRecords()
        records.exited(801, name: "worker", userMicroseconds: 7)
        records.exited(800, name: "server", userMicroseconds: 9)
        let driver = StageDriver(exitRecords: records)
        let enriched = driver.batch([exit(800, 801, parent: 0, at: 1), exit(800, at: 2)])
        #expect(enriched.map { $0.exitRecord?.name } == ["worker", "server"])
        #expect(enriched.map { $0.exitRecord?.userMicroseconds } == [7, 9])
    }

    @Test func forNamesOnlyRecordsAreReadWhenANameIsMissingOrEveryFewDozenExits() {
        let files = ScriptedProcFS()
        files[901] = .init(parent: 100, name: "make", commandLine: ["make"])
        let records = ScriptedExitRecords()
        let driver = StageDriver(files: files, exitRecords: records, exitRecordMode: .names)
        // Named at its exec: its exit needs no record, and none is read for it.
        _ = driver.batch([event(.exec(task(901)), at: 1)])
        records.exited(901, name: "make")
        #expect(driver.batch([exit(901, at: 2)]).map { $0.exitRecord?.name } == [nil])
        // An exec whose process exited within its batch is named from the records (read now).
        records.exited(902, name: "true")
        let quick = driver.batch([event(.exec(task(902)), at: 3), exit(902, at: 4)])
        #expect(quick.map { $0.process?.name } == ["true", "true"])
        #expect(quick.map { $0.exitRecord?.name } == [nil, "true"])
        // Named processes: the records are read at the 32nd exit since the last read (the
        // earlier ones' records are read then too, after their events went out).
        for pid in Int32(1000)..<1032 { files[pid] = .init(name: "sh", commandLine: ["sh"]) }
        _ = driver.batch((Int32(1000)..<1032).map { event(.exec(task($0)), at: UInt64($0)) })
        for pid in Int32(1000)..<1032 { records.exited(pid, name: "sh") }
        let exits = driver.batch((Int32(1000)..<1032).map { exit($0, at: UInt64($0) + 100) })
        #expect(exits.filter { $0.exitRecord != nil }.map(\.event.pid) == [1031])
    }

    @Test func forNamesOnlyRecordsAreLeftAloneOnceNoExecHappensForAWhile() {
        let files = ScriptedProcFS()
        files[100] = .init(name: "forker", commandLine: ["forker"])
        let records = ScriptedExitRecords()
        let driver = StageDriver(files: files, exitRecords: records, exitRecordMode: .names)
        _ = driver.batch([event(.exec(task(100)), at: 1)])
        // A plain fork storm after the exec: children named by inheritance, their records
        // read every 32 exits only within the exec window, then never.
        let window = EnrichmentStage.execWindow
        var recordsSeen = 0
        var pid = Int32(2000)
        for round in 0..<(2 * window / 32) {
            let children = (0..<32).map { pid + Int32($0) }
            pid += 32
            _ = driver.batch(children.map { event(.fork(parent: task(100), child: task($0)), at: UInt64(round)) })
            for child in children { records.exited(child, name: "forker") }
            let exits = driver.batch(children.map { exit($0, at: UInt64(round)) })
            #expect(exits.allSatisfy { $0.process?.name == "forker" })
            recordsSeen += exits.filter { $0.exitRecord != nil }.count
        }
        // One read per 32 exits within the window (the batch's last exit gets its record).
        #expect(recordsSeen == window / 32)
        #expect(records.queued == window)
    }

    @Test func droppedExitRecordsAreReportedAsLost() {
        let records = ScriptedExitRecords()
        let driver = StageDriver(exitRecords: records)
        var reports: [ProcessEvent.Detail] = []
        // The listener's counters at each batch: none, an overflow of 5 records, the same again
        // (nothing new), an overflow whose drop counter could not be read, then 7 more.
        for (overflows, lost) in [(0, 0), (1, 5), (1, 5), (2, 5), (3, 12)] {
            records.overflowed(times: overflows, lostRecords: lost)
            driver.batch([]) { reports.append($0.event.detail) }
        }
        #expect(reports == [
            .lost(count: 5, reason: .taskstats, cpu: nil),
            .lost(count: nil, reason: .taskstats, cpu: nil),
            .lost(count: 7, reason: .taskstats, cpu: nil),
        ])
    }

    @Test func enrichedWatchersShareTheSourceWithPlainOnes() throws {
        let kernel = ScriptedKernel()
        let files = ScriptedProcFS()
        files[11] = .init(parent: 10, name: "ls", commandLine: ["ls", "-l"])
        let records = ScriptedExitRecords()
        let source = ProcessEventSource(configuration: .init(usesKernelFilter: false), transport: { kernel },
                                        files: { files }, exitRecords: { records })
        let watchers = ProcessWatchers(source: source)
        let enriched = Recorder<EnrichedEvent>()
        let plain = Recorder<ProcessEvent>()
        watchers.onEnriched(.exec) { enriched.append($0) }
        watchers.on(.exit) { plain.append($0) }
        try watchers.start()
        #expect(source.processTable != nil)
        kernel.deliver(KernelBytes.fork(parent: 10, child: 11, sequence: 1), KernelBytes.exec(11, sequence: 2))
        #expect(eventually { enriched.count == 1 })
        records.exited(11, name: "ls")
        kernel.deliver(KernelBytes.exit(11, status: 0, parent: 10, sequence: 3))
        #expect(eventually { plain.count == 1 })
        #expect(enriched.all.map { $0.process?.commandLine } == [["ls", "-l"]])
        #expect(plain.all.map(\.pid) == [11])
        watchers.stop()
        #expect(records.isClosed)
        #expect(source.processTable == nil)
    }

    @Test func enrichmentWidensTheKernelFilterToWhatTheTableNeeds() throws {
        let source = ProcessEventSource(configuration: .init(usesKernelFilter: true), transport: { ScriptedKernel() },
                                        files: { ScriptedProcFS() })
        let plain = EventSubscriber(id: 1, kinds: .sid, deliver: { _ in }, finish: { _ in })
        let enriched = EventSubscriber(id: 2, kinds: .sid, wantsEnrichment: true, deliver: { _ in }, finish: { _ in })
        guard KernelFacts.hasEventFilter else { return }
        #expect(source.kernelMask(for: [plain]) == ProcessEventKinds.sid.rawValue)
        #expect(source.kernelMask(for: [enriched]) == ProcessEventKinds([.sid, .fork, .exec, .comm, .uid]).rawValue)
    }
}
