import ProcWatch

/// Turns the taskstats listener's overflow counters into `lost` events (reason
/// `taskstats`): the issue counts an overflow of that socket as a loss like any other, and
/// a recording must say that some processes' CPU, memory and I/O figures are missing.
struct TaskstatsLossCheck {
    private var overflows = 0
    private var lostRecords = 0

    /// A `lost` event at `time` when the socket overflowed since the last check (nil
    /// otherwise); its count is the exit records the kernel dropped meanwhile, or nil when
    /// its drop counter could not be read.
    /// `time` is read only then (the clocks are not read for every batch).
    mutating func check(overflowCount: Int, lostRecords: Int, at time: @autoclosure () -> EventTimestamp) -> ProcessEvent? {
        guard overflowCount > overflows else { return nil }
        let dropped = lostRecords - self.lostRecords
        overflows = overflowCount
        self.lostRecords = lostRecords
        return ProcessEvent(detail: .lost(count: dropped > 0 ? dropped : nil, reason: .taskstats, cpu: nil), timestamp: time())
    }
}
