/// What the kernel accounted for one or more tasks — CPU time, peak memory, I/O — summed
/// from taskstats records (exit records, or the kernel's answers about live tasks).
///
/// The one place those figures are added up: a job member over its threads' exit records,
/// a job or group over its members, a recorded process over its threads. CPU time and I/O
/// are sums; the peak resident set is the largest of any record (peaks do not add up).
public struct ResourceUsage: Sendable, Hashable {
    /// CPU time in user mode, in microseconds.
    public var userMicroseconds: UInt64 = 0
    /// CPU time in kernel mode, in microseconds.
    public var systemMicroseconds: UInt64 = 0
    /// The largest peak resident set of any record, in KiB.
    public var peakRSSKiB: UInt64 = 0
    /// Bytes read from and written to storage.
    public var readBytes: UInt64 = 0, writeBytes: UInt64 = 0
    /// Bytes read and written through system calls (storage, pipes, sockets, caches).
    public var readChars: UInt64 = 0, writeChars: UInt64 = 0
    /// How many taskstats records were added (0: nothing is known, e.g. without the
    /// privilege for taskstats — the figures are then unknown, not zero).
    public var recordCount = 0

    /// Nothing accounted yet.
    public init() {}

    /// The figures of one record.
    public init(_ record: TaskstatsRecord) {
        add(record)
    }

    /// The sum of several usages (CPU and I/O added, the largest peak kept).
    public init(summing usages: some Sequence<ResourceUsage>) {
        for usage in usages { self += usage }
    }

    /// Whether any record was added.
    public var isAccounted: Bool { recordCount > 0 }

    /// User plus system CPU time, in microseconds.
    public var cpuMicroseconds: UInt64 { userMicroseconds + systemMicroseconds }

    /// User plus system CPU time, in seconds.
    public var cpuSeconds: Double { Double(cpuMicroseconds) / 1e6 }

    /// User CPU time, in seconds.
    public var userSeconds: Double { Double(userMicroseconds) / 1e6 }

    /// System CPU time, in seconds.
    public var systemSeconds: Double { Double(systemMicroseconds) / 1e6 }

    /// Adds a taskstats record: its CPU time and I/O to the sums, its peak RSS to the peak.
    public mutating func add(_ record: TaskstatsRecord) {
        self += ResourceUsage(
            userMicroseconds: record.userMicroseconds, systemMicroseconds: record.systemMicroseconds,
            peakRSSKiB: record.peakRSSKiB, readBytes: record.readBytes, writeBytes: record.writeBytes,
            readChars: record.readChars, writeChars: record.writeChars, recordCount: 1)
    }

    /// Both usages together: CPU time, I/O and record counts added, the larger peak RSS.
    public static func + (lhs: ResourceUsage, rhs: ResourceUsage) -> ResourceUsage {
        ResourceUsage(
            userMicroseconds: lhs.userMicroseconds &+ rhs.userMicroseconds,
            systemMicroseconds: lhs.systemMicroseconds &+ rhs.systemMicroseconds,
            peakRSSKiB: Swift.max(lhs.peakRSSKiB, rhs.peakRSSKiB),
            readBytes: lhs.readBytes &+ rhs.readBytes, writeBytes: lhs.writeBytes &+ rhs.writeBytes,
            readChars: lhs.readChars &+ rhs.readChars, writeChars: lhs.writeChars &+ rhs.writeChars,
            recordCount: lhs.recordCount &+ rhs.recordCount)
    }

    /// Merges `rhs` into `lhs` (see ``+(_:_:)``).
    public static func += (lhs: inout ResourceUsage, rhs: ResourceUsage) {
        lhs = lhs + rhs
    }

    /// The figures given one by one: the kernel-side watchers' exit accounting (`recordCount`
    /// 1: one task's figures), or figures a test or another source provides.
    public init(userMicroseconds: UInt64, systemMicroseconds: UInt64, peakRSSKiB: UInt64, readBytes: UInt64,
                writeBytes: UInt64, readChars: UInt64, writeChars: UInt64, recordCount: Int = 1) {
        self.userMicroseconds = userMicroseconds
        self.systemMicroseconds = systemMicroseconds
        self.peakRSSKiB = peakRSSKiB
        self.readBytes = readBytes
        self.writeBytes = writeBytes
        self.readChars = readChars
        self.writeChars = writeChars
        self.recordCount = recordCount
    }
}
