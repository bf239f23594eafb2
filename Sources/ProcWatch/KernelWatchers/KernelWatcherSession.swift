#if canImport(Glibc)
import Glibc
#endif
import CProcWatch
import Dispatch
import Synchronization

/// A session of the kernel-side watchers: the loaded programs, who gets events, the
/// configuration the programs filter by, and how the reader is stopped.
final class KernelWatcherSession: SourceSession {
    let watchers: KernelWatchers
    let options: ProcessEventSource.KernelWatcherOptions
    let subscribers: Mutex<[EventSubscriber]>
    let stage = Mutex<EnrichmentStage?>(nil)
    private let mask: Atomic<UInt32>
    let stopRequested = Atomic<Bool>(false)
    let readerThread = Atomic<UInt>(0)
    let finished = DispatchSemaphore(value: 0)
    /// Written to end the reader's wait at once.
    let wakeDescriptor: Int32
    private let closed = Atomic<Bool>(false)
    /// The connector standing in for kinds whose programs did not attach, if any.
    let fallback = Mutex<ConnectorFallback?>(nil)

    init(watchers: KernelWatchers, options: ProcessEventSource.KernelWatcherOptions, subscribers: [EventSubscriber],
         mask: UInt32) throws(ProcWatchError) {
        let descriptor = eventfd(0, Int32(EFD_CLOEXEC) | Int32(EFD_NONBLOCK))
        guard descriptor >= 0 else { throw .system(call: "eventfd", errno: errno) }
        self.watchers = watchers
        self.options = options
        self.subscribers = Mutex(subscribers)
        self.mask = Atomic(mask)
        self.wakeDescriptor = descriptor
        if let followed = options.followedProcesses {
            for pid in followed { watchers.track(pid) }
        }
        watchers.configure(configuration(mask))
    }

    /// The programs' configuration for the consumers' kinds and this session's selection.
    private func configuration(_ mask: UInt32) -> procwatch_bpf_config {
        var config = procwatch_bpf_config()
        // A kind the connector stands in for comes from it alone, even when some of its
        // programs attached (one of the set*id pair, the set*id calls but not the exec's).
        config.kinds = mask & ~watchers.missingKinds.rawValue
        if options.followedProcesses != nil { config.tracks_tgids = options.followsDescendants ? 2 : 1 }
        if let uid = options.userID {
            config.filters_uid = 1
            config.uid = uid
        }
        config.wakeup_bytes = UInt32(clamping: options.wakeupBytes)
        return config
    }

    func setSubscribers(_ subscribers: [EventSubscriber]) { self.subscribers.withLock { $0 = subscribers } }
    func setStage(_ stage: EnrichmentStage?) { self.stage.withLock { $0 = stage } }

    func applyFilter(_ mask: UInt32) {
        guard self.mask.exchange(mask, ordering: .acquiringAndReleasing) != mask else { return }
        watchers.configure(configuration(mask))
    }

    var filterMask: UInt32 { mask.load(ordering: .relaxed) }

    /// Nothing to do: execs carry their command line; no /proc read waits for a pause.
    func keepExecsFromWaiting(timeout: Duration) {}

    func requestStop() {
        stopRequested.store(true, ordering: .releasing)
        wake()
    }

    /// Ends the reader's wait at once (a stop, or connector events waiting).
    func wake() {
        var one: UInt64 = 1
        _ = write(wakeDescriptor, &one, 8)
    }

    /// Clears the wakeups the reader has seen (the descriptor stays readable until then).
    func clearWakeups() {
        var count: UInt64 = 0
        _ = read(wakeDescriptor, &count, 8)
    }

    /// Whether an event of the connector standing in concerns a process this session
    /// follows, decided as the programs decide for theirs (``KernelWatcherOptions/followedProcesses``);
    /// a followed process's fork adds the child when descendants are followed, and its exit
    /// ends the following. Not decided: ``KernelWatcherOptions/userID`` (the connector's
    /// events carry no credentials), so the connector's kinds are not filtered by user.
    func follows(_ event: ProcessEvent) -> Bool {
        guard options.followedProcesses != nil else { return true }
        switch event.detail {
        case .fork(let parent, let child):
            guard watchers.isTracked(parent.pid) else { return false }
            if options.followsDescendants, child.pid != parent.pid { watchers.track(child.pid) }
            return true
        case .exit(let task, _, _, _):
            guard watchers.isTracked(task.pid) else { return false }
            if !task.isThread { watchers.untrack(task.pid) }
            return true
        default:
            guard let subject = event.subject else { return true }  // loss reports
            return watchers.isTracked(subject.pid)
        }
    }

    func waitUntilFinished() { finished.wait() }

    var isOnReaderThread: Bool { ReaderThread.isCurrent(readerThread.load(ordering: .acquiring)) }

    /// Detaches the programs and frees everything. Called once, by the reader (or by the
    /// source when the reader could not start).
    func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        fallback.withLock { $0 }?.stop()
        watchers.close()
        Glibc.close(wakeDescriptor)
        stage.withLock { $0?.close() }
    }
}
