import Glibc
import Testing
@testable import ProcWatch

extension LiveKernelTests {
    /// The TASKSTATS generic netlink family against the real kernel (root).
    @Suite("Taskstats exit records")
    struct TaskstatsTests {
        @Test func everyExitSendsARecordWithTheFinalName() throws {
            let listener = try TaskstatsListener()
            defer { listener.close() }
            let child = try Spawn.run(["/bin/sh", "-c", "printf renamed > /proc/self/comm; exit 3"])
            var records: [TaskstatsRecord] = []
            let deadline = ContinuousClock.now + .seconds(3)
            while ContinuousClock.now < deadline, !records.contains(where: { $0.id == child.pid }) {
                listener.receive(timeout: .milliseconds(100)) { records.append($0) }
            }
            let thread = try #require(records.first { $0.id == child.pid && !$0.isProcessTotal }, "\(records.map(\.id))")
            #expect(thread.name == "renamed")
            #expect(thread.pid == UInt32(child.pid))
            #expect(thread.parentPID == UInt32(getpid()))
            #expect(thread.exitCode == 768)
            #expect(thread.version >= 13)
            #expect(thread.uid == 0)
            // A single-threaded process gets no separate whole-process record (the kernel sends
            // TASKSTATS_TYPE_AGGR_TGID only for thread groups).
            #expect(!records.contains { $0.id == child.pid && $0.isProcessTotal })
        }

        @Test func overflowCountsTheLostRecords() throws {
            let listener = try TaskstatsListener(receiveBufferBytes: 4096)  // a few records at most
            defer { listener.close() }
            for _ in 0..<60 { _ = try Spawn.run(["/bin/true"]) }
            var read = 0
            listener.receive(timeout: .milliseconds(100)) { _ in read += 1 }
            #expect(listener.overflowCount >= 1)
            #expect(listener.lostRecords > 0)
            #expect(read + listener.lostRecords >= 60, "read \(read), lost \(listener.lostRecords)")
        }

        @Test func groupFiguresIncludeLiveMembersAskedOfTheKernel() throws {
            // 4 MiB written to disk by this (live) thread: storage I/O a process (TGID) answer lacks.
            let path = "/var/tmp/procwatch-io-\(getpid())"
            let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            defer { unlink(path) }
            let block = [UInt8](repeating: 7, count: 1 << 20)
            for _ in 0..<4 { #expect(write(descriptor, block, block.count) == block.count) }
            #expect(fsync(descriptor) == 0)
            close(descriptor)
            let groups = try JobGroups(rules: [("me", .process(getpid()))])
            let summary = try #require(groups.summary(of: "me", includingLiveUsing: try TaskstatsQuery()))
            #expect(summary.live == 1)
            #expect(summary.usage.cpuMicroseconds > 0)  // this test process has run for a while
            #expect(summary.usage.peakRSSKiB > 1000)
            #expect(summary.usage.writeBytes >= 4 << 20, "\(summary.usage.writeBytes)")
        }

        @Test func liveProcessQuery() throws {
            let query = try TaskstatsQuery()
            let me = try #require(try query.process(getpid()))
            #expect(me.isProcessTotal)
            #expect(me.id == getpid())
            #expect(me.userMicroseconds + me.systemMicroseconds > 0)
            let thread = try #require(try query.thread(getpid()))
            #expect(!thread.isProcessTotal)
            #expect(thread.peakRSSKiB > 0)  // memory figures come with per-thread answers only
            #expect(thread.name.isEmpty == false)
            #expect(thread.pid == UInt32(getpid()))
            #expect(try query.process(4_000_000) == nil)  // above pid_max: no such process
        }

        @Test func shortLivedProcessesAreNamedAtExit() throws {
            let watchers = ProcessWatchers(source: ProcessEventSource(configuration: .init(enrichment: .init(seedsFromProc: false))))
            let names = Recorder<(Int32, String)>()
            watchers.onEnriched(.exit) { enriched in
                if case .exit(let task, _, _, _) = enriched.event.detail, !task.isThread {
                    names.append((task.pid, enriched.process?.name ?? ""))
                }
            }
            try watchers.start()
            defer { watchers.stop() }
            var pids: [Int32] = []
            for _ in 0..<20 { pids.append(try Spawn.run(["/bin/true"]).pid) }
            #expect(eventually { Set(names.all.map(\.0)).isSuperset(of: pids) })
            let named = names.all.filter { pids.contains($0.0) }
            #expect(named.allSatisfy { $0.1 == "true" }, "\(named)")
        }

        /// Events handed to the enrichment stage only after their processes were reaped, as
        /// under a storm: /proc has nothing left at the exec, and the exit record names the
        /// exec'd program there; every exit carries its own record.
        @Test func anExecReadAfterTheProcessWasReapedIsNamedFromItsExitRecord() throws {
            let listener = try TaskstatsListener()
            let stage = EnrichmentStage(options: .init(seedsFromProc: false), files: { ProcFS() }, exitRecords: { listener })
            defer { stage.close() }
            let watchers = ProcessWatchers(source: ProcessEventSource())
            let events = Recorder<ProcessEvent>()
            watchers.on([.fork, .exec, .exit]) { events.append($0) }
            try watchers.start()
            defer { watchers.stop() }
            var pids: [Int32] = []
            for _ in 0..<10 { pids.append(try Spawn.run(["/bin/true"]).pid) }
            #expect(eventually {
                Set(events.all.compactMap { event -> Int32? in
                    if case .exit(let task, _, _, _) = event.detail { return task.pid } else { return nil }
                }).isSuperset(of: pids)
            })
            var execNames: [Int32: String] = [:]
            var exitRecords: [Int32: String] = [:]
            let batch = events.all
            stage.prepare(batch.map { .event($0) })
            for (index, event) in batch.enumerated() {
                let enriched = stage.enrich(event, at: index)
                switch event.detail {
                case .exec(let task) where pids.contains(task.pid):
                    execNames[task.pid] = enriched.process?.name
                case .exit(let task, _, _, _) where pids.contains(task.pid):
                    exitRecords[task.pid] = enriched.exitRecord?.name
                default: break
                }
                stage.retire(event)
            }
            #expect(execNames == Dictionary(uniqueKeysWithValues: pids.map { ($0, "true") }))
            #expect(exitRecords == Dictionary(uniqueKeysWithValues: pids.map { ($0, "true") }))
        }
    }
}
