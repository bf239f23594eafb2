#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Real-time scheduling for this process, so that under a fork storm on busy CPUs its
/// threads (the reader above all) run as soon as events arrive.
public enum RealTimeScheduling {
    private static let enabled = Atomic<Bool>(false)

    /// Whether ``enable()`` put this process under SCHED_FIFO (the reader then keeps it
    /// throughout, instead of only while it waits for execs).
    public static var isEnabled: Bool { enabled.load(ordering: .relaxed) }

    /// Puts every thread of this process that exists now under SCHED_FIFO at the highest
    /// priority (`sched_setscheduler(2)` on each thread listed in `/proc/self/task`).
    /// Threads started later inherit the policy from the thread that creates them.
    ///
    /// - Throws: ``ProcWatchError/permissionDenied(operation:capability:)`` without
    ///   CAP_SYS_NICE (EPERM); ``ProcWatchError/system(call:errno:)`` when the threads
    ///   cannot be listed or another error occurs.
    public static func enable() throws(ProcWatchError) {
        var parameters = sched_param()
        parameters.sched_priority = sched_get_priority_max(SCHED_FIFO)
        let threads = ProcFS().threads(getpid())
        // A process always has a thread: none listed means /proc could not be read.
        guard !threads.isEmpty else { throw .system(call: "opendir /proc/self/task", errno: ENOENT) }
        enabled.store(true, ordering: .relaxed)
        for tid in threads where sched_setscheduler(tid, SCHED_FIFO, &parameters) != 0 {
            let code = errno
            if code == ESRCH { continue }  // the thread ended meanwhile
            enabled.store(false, ordering: .relaxed)
            throw code == EPERM
                ? .permissionDenied(operation: "real-time scheduling", capability: "CAP_SYS_NICE")
                : .system(call: "sched_setscheduler", errno: code)
        }
    }
}
