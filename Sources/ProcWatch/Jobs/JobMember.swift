/// One process of a job, with what the kernel accounted for it.
public struct JobMember: Sendable, Hashable {
    /// Process id and the parent it was forked by.
    public var pid: Int32, parentPID: Int32
    /// Name and command line (latest exec).
    public var name: String, commandLine: [String]
    /// Fork and exit times (CLOCK_MONOTONIC nanoseconds); `end` is nil while it runs.
    public var start: UInt64
    public var end: UInt64? = nil
    /// How it ended.
    public var status: ExitStatus? = nil
    /// Threads it created (besides its main thread).
    public var threads = 0
    /// CPU time in user and kernel mode, summed over its threads' exit records (microseconds).
    public var userMicroseconds: UInt64 = 0, systemMicroseconds: UInt64 = 0
    /// Peak resident set (KiB), bytes read and written to storage, and through syscalls.
    public var peakRSSKiB: UInt64 = 0, readBytes: UInt64 = 0, writeBytes: UInt64 = 0, readChars: UInt64 = 0, writeChars: UInt64 = 0
    /// Whether any taskstats record was added (false without the privilege for taskstats).
    public var accounted = false

    /// Lifetime in seconds once it ended.
    public var durationSeconds: Double? {
        guard let end, end >= start else { return nil }
        return Double(end - start) / 1e9
    }
    /// User plus system CPU seconds.
    public var cpuSeconds: Double { Double(userMicroseconds + systemMicroseconds) / 1e6 }

    mutating func add(_ record: TaskstatsRecord) {
        accounted = true
        userMicroseconds += record.userMicroseconds
        systemMicroseconds += record.systemMicroseconds
        peakRSSKiB = Swift.max(peakRSSKiB, record.peakRSSKiB)
        readBytes += record.readBytes
        writeBytes += record.writeBytes
        readChars += record.readChars
        writeChars += record.writeChars
    }
}
