// Micro-benchmarks of procwatch's per-event path, with mallocs counted per iteration:
//
//   cd Benchmarks && swift package --disable-sandbox benchmark
//
// Each iteration is one event (throughput = events per second).
import Benchmark
import Glibc
@_spi(Benchmarks) import ProcWatch
@_spi(Benchmarks) import ProcWatchCLI

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal, .instructions],
        scalingFactor: .kilo,
        maxDuration: .seconds(3))

    // The three messages of a fork storm child, laid out as the kernel sends them.
    let datagrams = [
        Datagram.event(what: 0x1, data: [100, 100, 200, 200]),  // fork: parent 100, child 200
        Datagram.event(what: 0x2, data: [200, 200]),  // exec
        Datagram.event(what: 0x8000_0000, data: [200, 200, 0x300, 17, 100, 100]),  // exit 3, SIGCHLD
    ]

    Benchmark("Decoder: one cn_proc datagram") { benchmark in
        // The three datagrams side by side in one buffer, as a receive batch holds them.
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: datagrams.map(\.count).reduce(0, +), alignment: 8)
        defer { bytes.deallocate() }
        var slices: [UnsafeRawBufferPointer] = []
        var offset = 0
        for datagram in datagrams {
            bytes.baseAddress!.advanced(by: offset).copyMemory(from: datagram, byteCount: datagram.count)
            slices.append(UnsafeRawBufferPointer(start: bytes.baseAddress! + offset, count: datagram.count))
            offset += datagram.count
        }
        var index = 0
        var checksum = 0  // consumed once at the end: blackHole per message would box it
        for _ in benchmark.scaledIterations {
            ProcEventDecoder.decode(slices[index]) { message in
                if case .event(let event) = message { checksum &+= Int(event.sequence) }
            }
            index = index == 2 ? 0 : index + 1
        }
        blackHole(checksum)
    }

    let events = datagrams.flatMap { ProcEventDecoder.decode($0) }.compactMap { message -> ProcessEvent? in
        if case .event(let event) = message { return event }
        return nil
    }

    Benchmark("Watcher dispatch: three watchers, one event") { benchmark in
        let watchers = ProcessWatchers()
        watchers.on(.all) { blackHole($0) }
        watchers.on(.exec) { blackHole($0) }
        watchers.on([.fork, .exit]) { blackHole($0) }
        var index = 0
        for _ in benchmark.scaledIterations {
            watchers.dispatchForBenchmark(events[index])
            index = index == 2 ? 0 : index + 1
        }
    }

    Benchmark("Process table: fork then exit of a child") { benchmark in
        // The parent is this process, read from /proc once (as a seeded table knows it).
        let table = ProcessTable(seed: false)
        let parent = TaskID(pid: getpid(), tid: getpid())
        var child: Int32 = 4_000_000  // above pid_max: never a real process
        for _ in benchmark.scaledIterations {
            child = child == 4_030_000 ? 4_000_000 : child + 1
            let fork = ProcessEvent(detail: .fork(parent: parent, child: TaskID(pid: child, tid: child)),
                                    timestamp: EventTimestamp(monotonicNanoseconds: 10, unixNanoseconds: 10))
            let exit = ProcessEvent(detail: .exit(TaskID(pid: child, tid: child), waitStatus: 0, exitSignal: 17, parent: parent),
                                    timestamp: EventTimestamp(monotonicNanoseconds: 20, unixNanoseconds: 20))
            blackHole(table.apply(fork))
            blackHole(table.apply(exit))
            table.retire(exit)
        }
    }

    let process = ProcessRecord(pid: 200, parentPID: 100, name: "cc1", commandLine: ["/usr/lib/gcc/cc1", "-quiet", "main.c"],
                                executable: "/usr/lib/gcc/x86_64-linux-gnu/14/cc1", uid: 1000, startNanoseconds: 1_000_000)

    // One line per iteration into a reused buffer, as the live view writes them.
    // (The renderer is made inside the benchmark: renderers are not Sendable.)
    func rendererBenchmark(_ name: String, _ makeRender: @escaping @Sendable () -> (ObservedEvent, inout [UInt8]) -> Void) {
        Benchmark(name) { benchmark in
            let render = makeRender()
            var output: [UInt8] = []
            output.reserveCapacity(4096)
            var index = 0
            for _ in benchmark.scaledIterations {
                render(ObservedEvent(event: events[index], process: process), &output)
                output.removeAll(keepingCapacity: true)
                index = index == 2 ? 0 : index + 1
            }
        }
    }
    rendererBenchmark("JSON renderer: one line") {
        let json = JSONRenderer()
        return { json.render($0, into: &$1) }
    }
    rendererBenchmark("Text renderer: one line") {
        let text = TextRenderer(style: .init())
        return { text.render($0, into: &$1) }
    }
}

/// Builds connector datagrams: nlmsghdr + cn_msg + proc_event, as the kernel lays them out.
enum Datagram {
    static func event(what: UInt32, data: [UInt32]) -> [UInt8] {
        var eventData = data.flatMap(bytes)
        eventData += [UInt8](repeating: 0, count: max(0, 24 - eventData.count))
        let procEvent = bytes(what) + bytes(1) + bytes64(123_456_789) + eventData  // what, cpu, timestamp
        let connector = bytes(1) + bytes(1) + bytes(7) + bytes(0) + bytes16(UInt16(procEvent.count)) + bytes16(0)
        let payload = connector + procEvent
        return bytes(UInt32(16 + payload.count)) + bytes16(3) + bytes16(0) + bytes(7) + bytes(0) + payload
    }

    static func bytes(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }
    static func bytes16(_ value: UInt16) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }
    static func bytes64(_ value: UInt64) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }
}
