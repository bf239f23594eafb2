import Glibc
import Testing
@testable import ProcWatch
@_spi(Benchmarks) @testable import ProcWatchCLI

/// What the front ends print, on fixed input (no kernel): rates, line widths, `run`'s tree.
@Suite("Front-end output")
struct FrontEndOutputTests {
    static func stamp(_ nanoseconds: UInt64) -> EventTimestamp {
        EventTimestamp(monotonicNanoseconds: nanoseconds, unixNanoseconds: 1_795_383_915_899_078_000)
    }

    static func fork(_ parent: Int32, _ child: Int32, thread: Bool = false, at nanoseconds: UInt64) -> ProcessEvent {
        ProcessEvent(detail: .fork(parent: TaskID(pid: parent, tid: parent), child: TaskID(pid: thread ? parent : child, tid: child)),
                     timestamp: stamp(nanoseconds))
    }

    // MARK: Rates (-S, -q, stats)

    /// One fork in a three-second run is 0.3 forks/s, however close together the events came.
    @Test func ratesArePerSecondOfTheRun() {
        var statistics = Statistics()
        let sh = ProcessRecord(pid: 10, parentPID: 1, name: "sh", commandLine: ["/bin/sh"])
        statistics.count(ObservedEvent(event: Self.fork(10, 11, at: 5_000_000_000), process: sh))
        statistics.count(ObservedEvent(event: ProcessEvent(detail: .exec(TaskID(pid: 11, tid: 11)), timestamp: Self.stamp(5_001_000_000)), process: sh))
        let lines = statistics.report(seconds: 3).split(separator: "\n").map(String.init)
        #expect(lines.contains("2 events in 3.000s; 0.3 forks/s"), "\(lines)")
        #expect(statistics.report(seconds: 0.004).split(separator: "\n").contains("2 events in 0.004s; 250 forks/s"))
    }

    /// Thread forks are the Clone column: counted apart, never in forks/s.
    @Test func threadForksAreClonesNotForks() {
        var statistics = Statistics()
        let worker = ProcessRecord(pid: 20, parentPID: 1, name: "worker")
        statistics.count(ObservedEvent(event: Self.fork(20, 21, thread: true, at: 1_000), process: worker))
        statistics.count(ObservedEvent(event: Self.fork(20, 22, thread: true, at: 2_000), process: worker))
        let lines = statistics.report(seconds: 2).split(separator: "\n").map(String.init)
        #expect(lines.contains("2 events in 2.000s; 0.0 forks/s, 1.0 clones/s"), "\(lines)")
        #expect(Statistics().report(seconds: 1).split(separator: "\n").contains("0 events in 1.000s; 0.0 forks/s"))
    }

    // MARK: Line width

    @Test func linesAreCutToTheWidthWithAnEllipsis() {
        var bytes = Array("0123456789".utf8)
        LineWidth.fit(&bytes, from: 0, columns: 10)
        #expect(String(decoding: bytes, as: UTF8.self) == "0123456789")  // exactly the width: whole
        LineWidth.fit(&bytes, from: 0, columns: 6)
        #expect(String(decoding: bytes, as: UTF8.self) == "01234…")
        // Characters, not bytes; and only from `from` (an escape sequence before it is kept).
        var coloured = Array("\u{1B}[32m▶ exec →→→→ done".utf8)
        LineWidth.fit(&coloured, from: 5, columns: 8)
        #expect(String(decoding: coloured, as: UTF8.self) == "\u{1B}[32m▶ exec …")
        #expect(LineWidth.fit("été à la plage", columns: 5) == "été …")
        #expect(LineWidth.fit("whole", columns: nil) == "whole")
    }

    @Test func theLiveViewCutsLongCommandLinesToTheWidth() {
        let argument = String(repeating: "x", count: 300)
        let event = ProcessEvent(detail: .exec(TaskID(pid: 30, tid: 30)), timestamp: Self.stamp(5_000_000_000))
        let observed = ObservedEvent(event: event, process: ProcessRecord(pid: 30, parentPID: 20, name: "ld", commandLine: ["/usr/bin/ld", argument]),
                                     previousName: "collect2")
        var style = TextRenderer.Style()
        let whole = TextRenderer(style: style).render(observed)
        #expect(whole.hasSuffix("/usr/bin/ld " + argument))
        style.width = LineWidth(columns: 80)
        let cut = TextRenderer(style: style).render(observed)
        #expect(cut == String(whole.prefix(79)) + "…")
        #expect(cut.count == 80)
        // Colour codes are no columns: the same 80 characters between them.
        style.colour = true
        #expect(TextRenderer(style: style).render(observed) == "\u{1B}[32m" + String(whole.prefix(79)) + "…\u{1B}[0m")
        style.width = LineWidth(columns: 40)
        #expect(TextRenderer(style: style).header == "TIME            EVENT        PID    PPI…")
        // A short line is left alone.
        style = TextRenderer.Style()
        style.width = LineWidth(columns: 500)
        #expect(TextRenderer(style: style).render(observed) == whole)
    }

    /// A terminal's width is read again after SIGWINCH; a pipe has none (output stays whole).
    @Test func theTerminalsWidthFollowsResizes() throws {
        let (master, terminal) = try Self.pseudoTerminal(columns: 100)
        defer { close(master); close(terminal) }
        var size = winsize(ws_row: 30, ws_col: 100, ws_xpixel: 0, ws_ypixel: 0)
        let width = try #require(LineWidth(following: terminal))
        #expect(width.current == 100)
        size.ws_col = 60
        try #require(ioctl(terminal, UInt(TIOCSWINSZ), &size) == 0)
        #expect(width.current == 100)  // no SIGWINCH reached this process: the width read stays
        // To the process (test threads block signals): whichever thread takes it counts it.
        kill(getpid(), SIGWINCH)
        #expect(eventually { width.current == 60 })

        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        defer { close(ends[0]); close(ends[1]) }
        #expect(LineWidth(following: ends[1]) == nil)
        #expect(LineWidth.standardOutput(width: 50, truncate: true)?.current == 50)
        #expect(LineWidth.standardOutput(width: nil, truncate: false) == nil)
    }

    /// A pseudo-terminal `columns` wide: its master and terminal ends. By hand (posix_openpt
    /// and friends are not in Swift's Glibc): TIOCSPTLCK unlocks it, TIOCGPTN names it
    /// (_IOW/_IOR('T', 0x31/0x30, int)).
    static func pseudoTerminal(columns: UInt16) throws -> (master: Int32, terminal: Int32) {
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
        try #require(master >= 0)
        var unlock: Int32 = 0
        var number: UInt32 = 0
        try #require(ioctl(master, 0x4004_5431, &unlock) == 0 && ioctl(master, 0x8004_5430, &number) == 0)
        let terminal = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY | O_CLOEXEC)
        try #require(terminal >= 0)
        var size = winsize(ws_row: 30, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
        try #require(ioctl(terminal, UInt(TIOCSWINSZ), &size) == 0)
        return (master, terminal)
    }

    // MARK: run's tree

    /// make → cc (a driver: no CPU of its own) → cc1 (the work), and make → as: the driver's
    /// subtree comes first, and each line shows its own CPU and its subtree's.
    static func buildJob() -> Job {
        var job = Job(root: 1, includeRoot: false)
        var clock: UInt64 = 1_000_000_000
        func next() -> EventTimestamp {
            clock += 1_000_000
            return stamp(clock)
        }
        func fork(_ parent: Int32, _ child: Int32, _ commandLine: [String]) {
            let name = String(commandLine[0].split(separator: "/").last!)
            job.apply(EnrichedEvent(event: ProcessEvent(detail: .fork(parent: TaskID(pid: parent, tid: parent), child: TaskID(pid: child, tid: child)), timestamp: next()),
                                    process: ProcessRecord(pid: child, parentPID: parent, name: name, commandLine: commandLine)))
        }
        func exit(_ pid: Int32, _ parent: Int32, user: UInt64, system: UInt64 = 0) {
            var record = GoldenTaskstats.version16.withUnsafeBytes { TaskstatsRecord(id: pid, isProcessTotal: false, bytes: $0) }
            record.userMicroseconds = user
            record.systemMicroseconds = system
            job.apply(EnrichedEvent(event: ProcessEvent(detail: .exit(TaskID(pid: pid, tid: pid), waitStatus: 0, exitSignal: 17,
                                                                      parent: TaskID(pid: parent, tid: parent)), timestamp: next()),
                                    exitRecord: record))
        }
        fork(1, 100, ["make", "-j2"])
        fork(100, 110, ["cc", "-c", "a.c"])
        fork(110, 111, ["/usr/lib/gcc/x86_64-linux-gnu/12/cc1", "-quiet", "a.c", "-o", "/tmp/ccXYZ.s"])
        fork(100, 120, ["as", "--64", "-o", "b.o", "b.s"])
        exit(111, 110, user: 200_000, system: 4_000)
        exit(110, 100, user: 0)
        exit(120, 100, user: 12_000)
        exit(100, 1, user: 4_000)
        return job
    }

    func tree(_ report: RunReport) -> [String] {
        let lines = report.text().split(separator: "\n").map(String.init)
        guard let start = lines.firstIndex(where: { $0.hasPrefix("tree (") }) else { return lines }
        return Array(lines[start...])
    }

    @Test func runsTreeIsSortedBySubtreeCPUAndShowsBoth() {
        let report = RunReport(command: ["make", "-j2"], status: .exited(0), wallSeconds: 0.5, job: Self.buildJob(), root: 100)
        #expect(tree(report) == [
            "tree (by CPU of each subtree; cpu: own, tree: with descendants):",
            "  100 make -j2  0.007000s  cpu 0.004s, tree 0.220s  exit 0",
            "    110 cc -c a.c  0.004000s  cpu 0.000s, tree 0.204s  exit 0",
            "      111 /usr/lib/gcc/x86_64-linux-gnu/12/cc1 -quiet a.c -o /tmp/ccXYZ.s  0.002000s  cpu 0.204s  exit 0",
            "    120 as --64 -o b.o b.s  0.003000s  cpu 0.012s  exit 0",
        ])
        #expect(report.text().contains("\n  cpu        0.216 s user, 0.004 s system\n"), "\(report.text())")
        let json = report.json()
        #expect(json.contains(#""cpu_user_s":0.216,"cpu_system_s":0.004,"#), "\(json)")
        #expect(json.contains(#""tree":{"pid":100,"cmdline":["make","-j2"],"duration_s":0.007000,"cpu_s":0.004,"tree_cpu_s":0.220,"#), "\(json)")
        #expect(json.contains(#""children":[{"pid":110,"cmdline":["cc","-c","a.c"],"duration_s":0.004000,"cpu_s":0.000,"tree_cpu_s":0.204,"#), "\(json)")
    }

    @Test func runsTreeIsCutToTheWidthAndTakesShortNames() {
        var report = RunReport(command: ["make", "-j2"], status: .exited(0), wallSeconds: 0.5, job: Self.buildJob(), root: 100)
        report.width = 60
        let cut = tree(report)
        // The command line gives way; the figures after it stay.
        #expect(cut[3] == "      111 /usr/lib/gcc/x86_6…  0.002000s  cpu 0.204s  exit 0", "\(cut)")
        #expect(cut[0] == "tree (by CPU of each subtree; cpu: own, tree: with descenda…")
        #expect(cut.allSatisfy { $0.count <= 60 }, "\(cut)")
        report.width = nil
        report.shortNames = true
        report.stripDirectory = true
        #expect(tree(report)[3] == "      111 cc1  0.002000s  cpu 0.204s  exit 0")
        report.shortNames = false
        #expect(tree(report)[3] == "      111 cc1 -quiet a.c -o /tmp/ccXYZ.s  0.002000s  cpu 0.204s  exit 0")
    }

    /// Taskstats CPU comes in scheduler ticks (4 ms here): milliseconds, rounded.
    @Test func cpuIsPrintedToTheMillisecond() {
        #expect(RunReport.cpu(0) == "0.000")
        #expect(RunReport.cpu(4_000) == "0.004")
        #expect(RunReport.cpu(1_999) == "0.002")
        #expect(RunReport.cpu(1_234_567) == "1.235")
    }
}
