#if canImport(Glibc)
import Glibc
#endif
import CProcWatch
import Dispatch
import Synchronization

/// A session of the /proc scanner (``ProcessEventSource/Backend/procfs``): where neither
/// kernel source works, a reader thread scans /proc every ``ProcScanOptions/interval``
/// and at once when a watched process exits (a pidfd of each, polled), and hands the
/// events to the enrichment stage and the consumers as the kernel readers do.
final class ProcScanSession: SourceSession {
    let options: ProcessEventSource.ProcScanOptions
    let subscribers: Mutex<[EventSubscriber]>
    let stage = Mutex<EnrichmentStage?>(nil)
    private let mask = Atomic<UInt32>(ProcessEventSource.allEvents)
    let stopRequested = Atomic<Bool>(false)
    let readerThread = Atomic<UInt>(0)
    let finished = DispatchSemaphore(value: 0)
    private let wakeDescriptor: Int32
    private let files: any ProcScanFiles
    /// The scanner's state: touched by the reader thread only (and the first scan, before it starts).
    private let scanner: Mutex<ProcScanner>

    /// Scans once (what runs now is not reported) before the reader starts, so that a
    /// process started after the subscription returns is seen as new.
    init(options: ProcessEventSource.ProcScanOptions, files: any ProcScanFiles,
         subscribers: [EventSubscriber]) throws(ProcWatchError) {
        let descriptor = eventfd(0, Int32(EFD_CLOEXEC) | Int32(EFD_NONBLOCK))
        guard descriptor >= 0 else { throw .system(call: "eventfd", errno: errno) }
        if options.reapsOrphans, procwatch_set_child_subreaper() != 0 {
            let error = errno
            close(descriptor)
            throw .system(call: "prctl(PR_SET_CHILD_SUBREAPER)", errno: error)
        }
        self.options = options
        self.files = files
        self.subscribers = Mutex(subscribers)
        self.wakeDescriptor = descriptor
        var scanner = ProcScanner(files: files)
        _ = scanner.scan(now: .now, bootOffset: Self.bootOffset())
        self.scanner = Mutex(scanner)
    }

    func setSubscribers(_ subscribers: [EventSubscriber]) { self.subscribers.withLock { $0 = subscribers } }
    func setStage(_ stage: EnrichmentStage?) { self.stage.withLock { $0 = stage } }
    /// Every kind is scanned for; consumers filter.
    func applyFilter(_ mask: UInt32) { self.mask.store(mask, ordering: .relaxed) }
    var filterMask: UInt32 { mask.load(ordering: .relaxed) }
    func keepExecsFromWaiting(timeout: Duration) {}

    func requestStop() {
        stopRequested.store(true, ordering: .releasing)
        var one: UInt64 = 1
        _ = write(wakeDescriptor, &one, 8)
    }

    func waitUntilFinished() { finished.wait() }
    var isOnReaderThread: Bool { ReaderThread.isCurrent(readerThread.load(ordering: .acquiring)) }

    /// The reader's loop: wait for the interval, a watched exit or a stop; scan; deliver.
    func run() {
        readerThread.store(ReaderThread.current, ordering: .releasing)
        var exits = ExitDescriptors(limit: options.maximumExitDescriptors)
        defer {
            exits.closeAll()
            close(wakeDescriptor)
            stage.withLock { $0?.close() }
            finished.signal()
        }
        let interval = Int64(options.interval.components.seconds) * 1_000_000_000
            + options.interval.components.attoseconds / 1_000_000_000
        let adopter = options.reapsOrphans ? getpid() : nil
        while !stopRequested.load(ordering: .acquiring) {
            var waits = [pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0)] + exits.pollDescriptors
            _ = procwatch_ppoll(&waits, nfds_t(waits.count), interval)
            if stopRequested.load(ordering: .acquiring) { return }
            let outcome = scanner.withLock { $0.scan(now: .now, bootOffset: Self.bootOffset(), adopter: adopter) }
            // Its zombie children, status recorded: adopted orphans have nobody else to reap
            // them; a waiter of its own (`run`'s) finds the status in the exit event instead.
            for pid in outcome.reapable {
                var status: Int32 = 0
                _ = waitpid(pid, &status, WNOHANG)
            }
            exits.follow(outcome.events)
            guard !outcome.events.isEmpty else { continue }
            let subscribers = self.subscribers.withLock { $0 }
            let stage = self.stage.withLock { $0 }
            _ = stage?.prepare(outcome.events.map { .event($0) })
            for (index, event) in outcome.events.enumerated() { subscribers.dispatch(event, at: index, stage: stage) }
            subscribers.endBatch()
        }
    }

    /// CLOCK_BOOTTIME minus CLOCK_MONOTONIC now (the time the machine was suspended).
    static func bootOffset() -> UInt64 {
        var boot = timespec()
        var monotonic = timespec()
        clock_gettime(CLOCK_MONOTONIC, &monotonic)
        clock_gettime(CLOCK_BOOTTIME, &boot)
        let difference = (Int64(boot.tv_sec) - Int64(monotonic.tv_sec)) * 1_000_000_000 + Int64(boot.tv_nsec) - Int64(monotonic.tv_nsec)
        return UInt64(max(difference, 0))
    }
}

/// A pidfd per process the scanner knows to have started (up to a limit): each polls
/// readable when its process exits, which ends the reader's wait so the zombie is seen —
/// with its exit status — before its parent reaps it, as often as the race allows.
private struct ExitDescriptors {
    let limit: Int
    private var descriptors: [Int32: Int32] = [:]

    init(limit: Int) { self.limit = limit }

    var pollDescriptors: [pollfd] { descriptors.values.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) } }

    /// Opens descriptors for the processes the events started, closes those of processes that exited.
    mutating func follow(_ events: [ProcessEvent]) {
        for event in events {
            switch event.detail {
            case .fork(_, let child) where descriptors.count < limit:
                let descriptor = procwatch_pidfd_open(child.pid)
                if descriptor >= 0 { descriptors[child.pid] = descriptor }
            case .exit(let task, _, _, _):
                if let descriptor = descriptors.removeValue(forKey: task.pid) { close(descriptor) }
            default:
                break
            }
        }
    }

    mutating func closeAll() {
        for descriptor in descriptors.values { close(descriptor) }
        descriptors.removeAll()
    }
}
