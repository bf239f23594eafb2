/// One open source of events, whichever backend reads them: the proc connector's
/// ``Session`` or the kernel-side watchers' ``KernelWatcherSession``. The source keeps its
/// consumers and enrichment stage in the session; the session's reader thread hands them
/// every event.
protocol SourceSession: AnyObject, Sendable {
    /// Who gets events from the next batch on.
    func setSubscribers(_ subscribers: [EventSubscriber])
    /// The enrichment stage the reader uses from its next batch on.
    func setStage(_ stage: EnrichmentStage?)
    /// The kinds consumers want (a kernel filter mask of `ProcessEventKinds` bits) changed.
    func applyFilter(_ mask: UInt32)
    /// The filter in force.
    var filterMask: UInt32 { get }
    /// Makes sure no pause of the reader delays an exec while execs are read from /proc.
    func keepExecsFromWaiting(timeout: Duration)
    /// Asks the reader to end the session (it releases everything and signals `finished`).
    func requestStop()
    /// Blocks until the reader released everything.
    func waitUntilFinished()
    /// Whether the caller is the session's reader thread (which must not wait for itself).
    var isOnReaderThread: Bool { get }
}

extension Session: SourceSession {
    func setSubscribers(_ subscribers: [EventSubscriber]) { self.subscribers.withLock { $0 = subscribers } }
    func setStage(_ stage: EnrichmentStage?) { self.stage.withLock { $0 = stage } }
    var filterMask: UInt32 { kernelMask.load(ordering: .relaxed) }
    func waitUntilFinished() { finished.wait() }
    var isOnReaderThread: Bool { ReaderThread.isCurrent(readerThread.load(ordering: .acquiring)) }
}
