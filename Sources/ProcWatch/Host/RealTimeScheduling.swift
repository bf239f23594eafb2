#if canImport(Glibc)
import Glibc
#endif

/// Real-time scheduling for this process, so that under a fork storm on busy CPUs its
/// threads (the reader above all) run as soon as events arrive.
public enum RealTimeScheduling {
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
        for tid in threads where sched_setscheduler(tid, SCHED_FIFO, &parameters) != 0 {
            let code = errno
            if code == ESRCH { continue }  // the thread ended meanwhile
            throw code == EPERM
                ? .permissionDenied(operation: "real-time scheduling", capability: "CAP_SYS_NICE")
                : .system(call: "sched_setscheduler", errno: code)
        }
    }
}
