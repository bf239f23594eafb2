/// How far the history is behind the kernel, from the times of events received and
/// committed (CLOCK_MONOTONIC nanoseconds, the kernel's own event timestamps).
///
/// Not simply "now − the newest committed event": on a quiet host that grows by the
/// minute while nothing waits, and an alert on it would fire every night. The lag is 0
/// while every event received is committed, and otherwise the age of the oldest event still
/// waiting. After a commit that leaves events waiting, their oldest is not known (the
/// history says only up to where it committed): the newest committed event's time stands
/// for it, which overstates the lag by at most the gap between two events.
struct RecordingLag: Sendable {
    /// The newest event received (0: none yet).
    private var newestReceived: UInt64 = 0
    /// The newest event committed to the history (0: none yet).
    private var newestCommitted: UInt64 = 0
    /// The oldest event received and not yet committed, nil when none waits.
    private var oldestWaiting: UInt64?

    /// A batch whose events span `oldest`…`newest` was received.
    mutating func received(oldest: UInt64, newest: UInt64) {
        if oldestWaiting == nil, newest > newestCommitted { oldestWaiting = max(oldest, newestCommitted) }
        newestReceived = max(newestReceived, newest)
    }

    /// The history committed every event up to `time`.
    mutating func committed(through time: UInt64) {
        newestCommitted = max(newestCommitted, time)
        oldestWaiting = newestCommitted >= newestReceived ? nil : max(oldestWaiting ?? 0, newestCommitted)
    }

    /// The lag in seconds at `now`.
    func seconds(now: UInt64) -> Double {
        guard let oldestWaiting, now > oldestWaiting else { return 0 }
        return Double(now - oldestWaiting) / 1e9
    }
}
