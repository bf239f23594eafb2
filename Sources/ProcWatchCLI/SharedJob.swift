import ProcWatch
import Synchronization

/// A job updated on the reader thread and read by the command that watches it: one
/// reference, so the process table's exit-record feed can account to it too.
package final class SharedJob: Sendable {
    private let job: Mutex<Job>

    package init(_ job: Job) { self.job = Mutex(job) }

    /// The job as it stands.
    package var snapshot: Job { job.withLock { $0 } }

    /// Runs `body` with the job locked.
    package func withLock<Result: Sendable>(_ body: (inout Job) -> Result) -> Result {
        job.withLock { body(&$0) }
    }
}
