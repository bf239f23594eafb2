/// When an event happened, from the kernel's own timestamp (not the time it was read).
public struct EventTimestamp: Sendable, Hashable, Comparable {
    /// The kernel's `timestamp_ns`: CLOCK_MONOTONIC nanoseconds.
    public var monotonicNanoseconds: UInt64
    /// The same instant as nanoseconds since the Unix epoch (UTC), mapped through the
    /// offset between CLOCK_REALTIME and CLOCK_MONOTONIC measured when the event was read.
    public var unixNanoseconds: Int64

    /// Creates a timestamp from both clocks.
    public init(monotonicNanoseconds: UInt64, unixNanoseconds: Int64) {
        self.monotonicNanoseconds = monotonicNanoseconds
        self.unixNanoseconds = unixNanoseconds
    }

    /// Now, on both clocks: the time of events procwatch makes itself (`lost` reports).
    package static var now: EventTimestamp {
        let now = Clocks.monotonicNanoseconds()
        return EventTimestamp(monotonicNanoseconds: now, unixNanoseconds: Int64(now) &+ Clocks.unixOffsetNanoseconds())
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.monotonicNanoseconds < rhs.monotonicNanoseconds }
}
