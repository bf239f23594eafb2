/// Turns sequence gaps and socket drop counts into `lost` counts, each loss counted once.
///
/// The kernel numbers events per CPU (`cn_msg.seq`) before any filtering. On an
/// unfiltered subscription a skip in one CPU's numbers is exactly the number of events
/// lost there, so gaps are the count, and an overflow (ENOBUFS) is only reported as
/// having happened. Under a kernel filter gaps are normal; then the socket's drop
/// counter (SO_MEMINFO) is the count.
struct LossDetector {
    /// Whether sequence numbers can be trusted (false under a kernel filter).
    private(set) var checksSequence: Bool
    private var lastSequence: [UInt32] = []
    private var seen: [Bool] = []
    private var lastDropCount: UInt32?

    init(checksSequence: Bool, initialDropCount: UInt32?) {
        self.checksSequence = checksSequence
        self.lastDropCount = initialDropCount
    }

    /// Forgets every CPU's last number (the filter changed).
    mutating func resetSequences(checksSequence: Bool) {
        self.checksSequence = checksSequence
        for index in seen.indices { seen[index] = false }
    }

    /// Records one message's `(cpu, seq)`; returns how many events are missing before it.
    mutating func observe(cpu: UInt32, sequence: UInt32) -> Int {
        guard checksSequence, cpu < 65_536 else { return 0 }
        let index = Int(cpu)
        if index >= seen.count {
            seen.append(contentsOf: repeatElement(false, count: index + 1 - seen.count))
            lastSequence.append(contentsOf: repeatElement(0, count: index + 1 - lastSequence.count))
        }
        defer {
            lastSequence[index] = sequence
            seen[index] = true
        }
        guard seen[index] else { return 0 }
        let gap = sequence &- (lastSequence[index] &+ 1)
        // A number at or before the last one (a huge unsigned gap) is a restart, not a loss.
        guard gap < 1 << 30 else { return 0 }
        return Int(gap)
    }

    /// Reads the socket's drop counter; returns how many drops to report: the new drops
    /// under a kernel filter, nil when sequence gaps will report them (or no counter exists).
    mutating func dropsToReport(_ count: UInt32?) -> Int? {
        guard let count else { return nil }
        let delta = Int(count &- (lastDropCount ?? 0))
        lastDropCount = count
        return checksSequence ? nil : delta
    }
}
