import ArgumentParser
import Glibc
import ProcWatch
import Synchronization

/// `latency-bench`: how long after the kernel stamped an event a ProcWatch watcher runs.
///
/// Latency is `CLOCK_MONOTONIC` when the watcher runs minus the event's kernel timestamp
/// (the same clock). Idle: one short-lived process every 10 ms, the watcher timing each
/// exec. Storm: `storm-bench forker` processes (built next to this binary) fork as fast as
/// they can, the watcher timing every fork and exit. Prints p50, p99 and max per phase and,
/// with `--json`, writes them.
@main
struct LatencyBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latency-bench",
        abstract: "Kernel timestamp to watcher: p50/p99/max, idle and under a fork storm.")

    @Option(help: "Processes started in the idle phase (one every 10 ms).")
    var idleProcesses = 500

    @Option(help: "Parallel forkers in the storm phase.")
    var stormForkers = 2

    @Option(help: "Forks per forker in the storm phase.")
    var stormCount = 20_000

    @Option(help: "Write the results as JSON to this file.")
    var json: String?

    func run() throws {
        let idle = try Phase.measure(kinds: .exec, rawKinds: [2], expected: idleProcesses) {
            for _ in 0..<idleProcesses {
                try Children.run(["/bin/true"])
                usleep(10_000)
            }
        }
        let storm = try Phase.measure(kinds: [.fork, .exit], rawKinds: [1, 0x8000_0000], expected: 2 * stormForkers * stormCount) {
            let forker = Children.sibling("storm-bench")
            let pids = try (0..<stormForkers).map { _ in
                try Children.start([forker, "forker", "--count", "\(stormCount)"])
            }
            for pid in pids { Children.wait(pid) }
        }
        let rows = [("idle", idle.watcher), ("idle, blocking recv", idle.raw), ("storm", storm.watcher), ("storm, blocking recv", storm.raw)]
        print("phase                  events   p50 µs   p99 µs   max µs")
        for (name, result) in rows {
            print(name.padding(20), String(result.count).padding(8, left: true),
                  result.micros(0.50).padding(8, left: true), result.micros(0.99).padding(8, left: true),
                  result.micros(1.0).padding(8, left: true))
        }
        print("(watcher: a ProcessWatchers watcher; blocking recv: a plain connector socket read by its own thread in the same run)")
        if let json {
            let body = rows.map { name, result in
                "\"\(name.replacingSpaces)\":{\"events\":\(result.count),\"p50_us\":\(result.micros(0.50)),"
                    + "\"p99_us\":\(result.micros(0.99)),\"max_us\":\(result.micros(1.0))}"
            }.joined(separator: ",")
            let file = fopen(json, "w")
            guard let file else { throw ValidationError("cannot write \(json)") }
            fputs("{\(body)}\n", file)
            fclose(file)
        }
    }
}

/// One measured phase: a watcher records the latency of every event it sees.
struct Phase {
    var latencies: [UInt64]

    var count: Int { latencies.count }

    /// The latency at quantile `q` (1.0 = the maximum), in microseconds with one decimal.
    func micros(_ q: Double) -> String {
        guard !latencies.isEmpty else { return "-" }
        let index = min(latencies.count - 1, Int((Double(latencies.count) * q).rounded(.up)) - 1)
        let tenths = latencies[max(0, index)] / 100
        return "\(tenths / 10).\(tenths % 10)"
    }

    /// Runs `workload` while a watcher on `kinds` and a raw listener on `rawKinds` time
    /// every event they see.
    static func measure(kinds: ProcessEventKinds, rawKinds: Set<UInt32>, expected: Int,
                        workload: () throws -> Void) throws -> (watcher: Phase, raw: Phase) {
        let recorder = Recorder(capacity: expected * 2 + 1024)
        let raw = try RawListener(kinds: rawKinds, capacity: expected * 2 + 1024)
        defer { raw.stop() }  // IGNORE on every way out (stop is idempotent)
        raw.start()
        let watchers = ProcessWatchers()
        watchers.on(kinds) { event in
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let nanoseconds = UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
            // Events of another CPU can carry a slightly later stamp than "now" here.
            recorder.record(nanoseconds > event.timestamp.monotonicNanoseconds
                ? nanoseconds - event.timestamp.monotonicNanoseconds : 0)
        }
        try watchers.start()
        defer { watchers.stop() }
        usleep(100_000)
        try workload()
        usleep(300_000)  // let both drain what the workload left queued
        watchers.stop()
        raw.stop()
        return (Phase(latencies: recorder.sorted()), Phase(latencies: raw.recorder.sorted()))
    }
}

/// Latencies written by the reader thread into preallocated storage (no allocation per event).
final class Recorder: @unchecked Sendable {
    // @unchecked: slots are written by one thread (the reader) at indices it claims
    // atomically, and read only after the watchers stopped.
    private let storage: UnsafeMutableBufferPointer<UInt64>
    private let next = Atomic<Int>(0)

    init(capacity: Int) { storage = .allocate(capacity: capacity) }
    deinit { storage.deallocate() }

    func record(_ nanoseconds: UInt64) {
        let index = next.add(1, ordering: .relaxed).oldValue
        if index < storage.count { storage[index] = nanoseconds }
    }

    func sorted() -> [UInt64] {
        Array(storage.prefix(min(next.load(ordering: .relaxed), storage.count))).sorted()
    }
}

/// Starting and reaping the workload's processes.
enum Children {
    /// A program built next to this one.
    static func sibling(_ name: String) -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let path = String(decoding: buffer[..<max(0, length)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/") + "/" + name
    }

    static func start(_ argv: [String]) throws -> Int32 {
        var pid: pid_t = 0
        var arguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { arguments.forEach { free($0) } }
        let result = posix_spawn(&pid, argv[0], nil, nil, &arguments, environ)
        guard result == 0 else { throw ValidationError("cannot start \(argv[0]): \(String(cString: strerror(result)))") }
        return pid
    }

    static func wait(_ pid: Int32) {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
    }

    static func run(_ argv: [String]) throws { wait(try start(argv)) }
}

extension String {
    var replacingSpaces: String { String(map { $0 == " " || $0 == "," ? "_" : $0 }).replacingOccurrences("__", "_") }

    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }

    func padding(_ width: Int, left: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - count))
        return left ? fill + self : self + fill
    }
}
