import ArgumentParser
import Glibc

/// `storm-bench soak`: the live view's memory over a long storm. procwatch's text view
/// writes to a file while forkers make `--events` events; every 200 ms the soak samples its
/// resident memory and the size of what it wrote so far. Passes when the peak stays under
/// `--limit-mib` and memory grows by less than 1 MiB after the first 100k events.
struct SoakCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "Peak and growth of procwatch's memory over a storm of about a million events.")

    @Option(help: "The procwatch binary.")
    var procwatch: String

    @Option(help: "Events to produce (fork + exit per child, split over two forkers).")
    var events = 1_000_000

    @Option(help: "Peak resident memory allowed, in MiB.")
    var limitMiB = 16.0

    @Option(help: "Write the result as JSON to this file.")
    var json: String?

    func run() throws {
        let output = "/tmp/procwatch-soak-\(getpid()).txt"
        defer { unlink(output) }
        let consumer = try spawn([procwatch], stdout: .file(output), stderr: .inherit)
        sleepSeconds(1)
        let forkerExecutable = readLink("/proc/self/exe") ?? CommandLine.arguments[0]
        let storm = Storm(forkers: 2, count: events / 4, exec: nil)
        var samples: [(bytes: Int, rssKiB: Int)] = []
        let sampler = Sampler(pid: consumer, output: output)
        sampler.start()
        let made: (pids: [pid_t], children: Int)
        do {
            made = try storm.runForkers(executable: forkerExecutable)
        } catch {
            _ = sampler.stop()
            kill(consumer, SIGINT)
            _ = waitFor(consumer)
            throw error
        }
        _ = waitUntilIdle(consumer)
        samples = sampler.stop()
        // The peak is the kernel's high-water mark (VmHWM), read before SIGINT: 200 ms
        // samples of VmRSS could miss a spike between them.
        let highWater = peakRSSKiB(of: consumer) ?? 0
        kill(consumer, SIGINT)
        let end = waitFor(consumer)
        guard end.exitedCleanly else { throw BenchError("procwatch ended with \(end.description)") }

        // Lines are counted once at the end; samples record the file's size (cheap), which
        // the average line length turns into events.
        var lines = 0
        if let bytes = readBytes(output) { for byte in bytes where byte == 0x0A { lines += 1 } }
        let bytesPerLine = max(1, (samples.last?.bytes ?? 0) / max(1, lines))
        let afterFirst100k = samples.first { $0.bytes >= 100_000 * bytesPerLine }?.rssKiB
        let peak = max(highWater, samples.map(\.rssKiB).max() ?? 0)
        let growth = afterFirst100k.map { peak - $0 }
        let passed = Double(peak) / 1024 < limitMiB && (growth ?? Int.max) < 1024
        print("soak: \(2 * made.children) events made, \(lines) lines written")
        print("soak: RSS after the first 100k events \(afterFirst100k.map { mib($0) } ?? "-") MiB, "
              + "peak \(mib(peak)) MiB, growth after 100k \(growth.map { mib($0) } ?? "-") MiB: \(passed ? "PASS" : "FAIL")")
        if let json {
            let body = "{\"events\":\(2 * made.children),\"lines\":\(lines),"
                + "\"rss_after_100k_kib\":\(afterFirst100k ?? -1),\"peak_rss_kib\":\(peak),"
                + "\"growth_after_100k_kib\":\(growth ?? -1),\"samples\":["
                + samples.map { "[\($0.bytes),\($0.rssKiB)]" }.joined(separator: ",") + "],\"passed\":\(passed)}\n"
            try writeText(body, to: json)
        }
        if !passed { throw ExitCode(1) }
    }

    private func mib(_ kib: Int) -> String {
        let tenths = (kib * 10 + 512) / 1024
        return "\(tenths / 10).\(tenths % 10)"
    }
}

/// Samples a process's VmRSS and its output file's size on its own thread.
final class Sampler: @unchecked Sendable {
    // @unchecked: `samples` is written by the sampling thread and read after it is joined.
    private let pid: pid_t
    private let output: String
    private var samples: [(bytes: Int, rssKiB: Int)] = []
    private var stopping = false
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var thread = pthread_t()

    init(pid: pid_t, output: String) {
        self.pid = pid
        self.output = output
        pthread_mutex_init(lock, nil)
    }

    func start() {
        let context = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&thread, nil, { context in
            let sampler = Unmanaged<Sampler>.fromOpaque(context!).takeRetainedValue()
            while !sampler.isStopping {
                sampler.sample()
                usleep(200_000)
            }
            sampler.sample()
            return nil
        }, context)
    }

    func stop() -> [(bytes: Int, rssKiB: Int)] {
        pthread_mutex_lock(lock)
        stopping = true
        pthread_mutex_unlock(lock)
        pthread_join(thread, nil)
        return samples
    }

    private var isStopping: Bool {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return stopping
    }

    private func sample() {
        var rss = 0
        for line in readText("/proc/\(pid)/status").split(separator: "\n") where line.hasPrefix("VmRSS:") {
            rss = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        }
        var status = stat()
        let size = stat(output, &status) == 0 ? Int(status.st_size) : 0
        samples.append((size, rss))
    }
}
