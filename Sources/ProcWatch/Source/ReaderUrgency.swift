#if canImport(Glibc)
import Glibc
#endif
import CProcWatch

/// How the reader thread gets a CPU the moment an exec arrives, and gives it back.
///
/// What the reader must do first for an exec — read its command line from /proc — cannot
/// wait: the processes of a build live well under a millisecond, and a woken thread of
/// ordinary priority waits for a CPU hog's time slice to end. So, while execs are read
/// (an enrichment stage exists), the reader waits under SCHED_FIFO at the lowest real-time
/// priority, which takes a CPU at once when it wakes, and drops back to ordinary
/// scheduling as soon as the /proc reads of a large batch are done: the rest of it — every
/// consumer's work, the library user's watchers included — runs at ordinary priority and
/// can starve nothing. A small batch (a few events: microseconds of work) is handled at
/// real-time priority too, so that the next exec does not wait behind a hog while the
/// reader is between two reads; outside the window of execs the reader waits ordinarily. Without the privilege (CAP_SYS_NICE or an
/// RLIMIT_RTPRIO), the thread runs ordinarily with a 0.1 ms slice (Linux 6.12+), which
/// lets it preempt a hog early when it wakes, though not at once.
///
/// `-r` (``RealTimeScheduling``) puts the whole process under SCHED_FIFO: then this leaves
/// the policy alone.
struct ReaderUrgency {
    private var realTimeAllowed = true
    private var raised = false
    private let nice: Int32

    /// Sets the calling thread's short slice. Call on the reader thread.
    init() {
        errno = 0
        let current = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        nice = errno == 0 ? current : 0
        _ = procwatch_request_slice(Self.slice, nice)
    }

    /// Before the reader waits for the kernel, when it will have execs to read.
    mutating func beforeWaiting() {
        guard realTimeAllowed, !raised, !RealTimeScheduling.isEnabled else { return }
        if procwatch_request_fifo(1) == 0 { raised = true } else { realTimeAllowed = false }
    }

    /// Once the batch's /proc reads are done.
    mutating func afterReadingAhead() {
        guard raised else { return }
        raised = false
        guard !RealTimeScheduling.isEnabled else { return }
        _ = procwatch_request_slice(Self.slice, nice)
    }

    private static let slice: UInt64 = 100_000
}
