import Glibc
import Testing
@testable import ProcWatch

extension LiveKernelTests {
    /// Command lines of short-lived processes under load, against the real kernel (root).
    @Suite("Exec command lines under load")
    struct ExecFidelityTests {
        /// Two shell loops on both cores, next to a CPU hog on both cores, exec a burst of
        /// `/bin/true` (gone well under a millisecond after its exec) and `/bin/sleep 0.001`
        /// (a millisecond or more): every exec whose process lived 1 ms or more shows its
        /// command line, exactly.
        @Test func everyExecThatLivedAMillisecondHasItsCommandLine() throws {
            let source = ProcessEventSource(configuration: .init(enrichment: .init(readsExecutables: false)))
            let watchers = ProcessWatchers(source: source)
            let execs = Recorder<(pid: Int32, parent: Int32, time: UInt64, commandLine: [String])>()
            let exits = Recorder<(pid: Int32, time: UInt64)>()
            // How long after its exec each was handed over (a miss's delay tells a late reader
            // from a read that failed).
            let delays = Recorder<(pid: Int32, microseconds: UInt64)>()
            watchers.onEnriched([.exec, .exit]) { enriched in
                switch enriched.event.detail {
                case .exec(let task):
                    execs.append((task.pid, enriched.process?.parentPID ?? 0, enriched.event.timestamp.monotonicNanoseconds,
                                  enriched.process?.commandLine ?? []))
                    delays.append((task.pid, (Clocks.monotonicNanoseconds() - enriched.event.timestamp.monotonicNanoseconds) / 1000))
                case .exit(let task, _, _, _) where !task.isThread:
                    exits.append((task.pid, enriched.event.timestamp.monotonicNanoseconds))
                default: break
                }
            }
            try watchers.start()
            defer { watchers.stop() }
            let hogs = try (0..<2).map { _ in try Spawn.start(["/bin/sh", "-c", "while :; do :; done"]) }
            defer { for hog in hogs { kill(hog, SIGKILL); Spawn.wait(hog) } }
            let loops = try ["a", "b"].map { mark in
                try Spawn.start(["/bin/sh", "-c",
                                 "i=0; while [ $i -lt 150 ]; do i=$((i+1)); /bin/true \(mark)-$i; /bin/sleep 0.001 ${i}e-9; done"])
            }
            for loop in loops { #expect(Spawn.wait(loop) == 0) }
            #expect(eventually(timeout: .seconds(5)) { Set(exits.all.map(\.pid)).isSuperset(of: loops) })

            let ends = Dictionary(exits.all.map { ($0.pid, $0.time) }, uniquingKeysWith: { first, _ in first })
            var lived = 0, shown = 0, quick = 0, quickShown = 0
            var wrong: [String] = []
            // The loops' children only: other programs on the host may exec twice in a row
            // (the first exec then cannot be read, and rightly shows no command line).
            for exec in execs.all where loops.contains(exec.parent) {
                guard let end = ends[exec.pid], end > exec.time else { continue }
                let expected: [String]
                switch exec.commandLine.first {
                case "/bin/true": expected = ["/bin/true", exec.commandLine.count > 1 ? exec.commandLine[1] : "?"]
                case "/bin/sleep": expected = ["/bin/sleep", "0.001", exec.commandLine.count > 2 ? exec.commandLine[2] : "?"]  // ${i}e-9: a mark sleep accepts
                default: expected = exec.commandLine
                }
                if end - exec.time >= 1_000_000 {
                    lived += 1
                    if !exec.commandLine.isEmpty && exec.commandLine == expected { shown += 1 } else { wrong.append("\(exec)") }
                } else {
                    quick += 1
                    if !exec.commandLine.isEmpty { quickShown += 1 }
                }
            }
            // The 300 sleeps at least (each lives over a millisecond).
            #expect(lived >= 300)
            let delay = Dictionary(delays.all.map { ($0.pid, $0.microseconds) }, uniquingKeysWith: { first, _ in first })
            #expect(shown == lived, "\(lived - shown) of \(lived) execs that lived 1 ms or more lack their command line: \(wrong.prefix(5)); handed over after (µs): \(wrong.compactMap { line in delay.first { line.contains("pid: \($0.key),") }?.value })")
            print("exec fidelity under a CPU hog: \(shown)/\(lived) of those that lived ≥ 1 ms, \(quickShown)/\(quick) of the shorter ones")
        }
    }
}
