/// Turns sequence gaps and socket drop counts into exact `lost` counts.
///
/// The kernel numbers events per CPU (`cn_msg.seq`), before any filtering, so on an
/// unfiltered subscription a skip in one CPU's numbers is a lost event. The socket's
/// drop counter covers the same losses when the receive buffer overflows; drops already
/// reported through an overflow are not reported a second time as a gap.
struct LossDetector {
    /// Whether sequence numbers can be trusted (false under a kernel filter, where gaps are normal).
    var checksSequence: Bool
    private var lastSequence: [UInt32] = []
    private var seen: [Bool] = []
    /// Drops reported through overflows that no gap has accounted for yet.
    private var unmatchedDrops = 0
    private var lastDropCount: UInt32?

    init(checksSequence: Bool, initialDropCount: UInt32?) {
        self.checksSequence = checksSequence
        self.lastDropCount = initialDropCount
    }

    /// Forgets every CPU's last number (after the filter changed).
    mutating func resetSequences(checksSequence: Bool) {
        self.checksSequence = checksSequence
        for index in seen.indices { seen[index] = false }
    }

    /// Records one message's `(cpu, seq)`; returns how many events are missing before it
    /// that no overflow report already covered.
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
        // A number at or before the last one (huge unsigned gap) is a restart, not a loss.
        guard gap > 0, gap < 1 << 30 else { return 0 }
        let covered = min(Int(gap), unmatchedDrops)
        unmatchedDrops -= covered
        return Int(gap) - covered
    }

    /// Records the socket's drop counter; returns the drops since the last reading
    /// (nil when the transport has no counter).
    mutating func observeDrops(_ count: UInt32?) -> Int? {
        guard let count else { return nil }
        let previous = lastDropCount ?? 0
        lastDropCount = count
        let delta = Int(count &- previous)
        if checksSequence { unmatchedDrops += delta }
        return delta
    }
}
