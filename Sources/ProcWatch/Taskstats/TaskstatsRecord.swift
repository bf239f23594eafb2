import CProcWatch
import Netlink

/// The kernel's accounting record for one task (`struct taskstats`), sent when it exits.
///
/// Version-tolerant: the running kernel may send a newer, longer struct (version 16,
/// 560 bytes on Linux 6.18) than the headers know (13, 416 bytes), or an older, shorter
/// one; the known prefix is copied into a zeroed struct and `version` is kept.
public struct TaskstatsRecord: Sendable, Hashable {
    /// `version` of the struct the kernel sent.
    public var version: UInt16
    /// The thread id (`TASKSTATS_TYPE_PID`) or the process id (`TASKSTATS_TYPE_TGID`) it is about.
    public var id: Int32
    /// Whether it sums a whole process (sent when its last thread exits) rather than one thread.
    public var isProcessTotal: Bool
    /// The task's name at exit (`ac_comm`).
    public var name: String
    /// Process and parent ids (`ac_pid`, `ac_ppid`), user and group (`ac_uid`, `ac_gid`).
    public var pid: UInt32, parentPID: UInt32, uid: UInt32, gid: UInt32
    /// Raw exit code (`ac_exitcode`).
    public var exitCode: UInt32
    /// Elapsed time, user and system CPU time, in microseconds.
    public var elapsedMicroseconds: UInt64, userMicroseconds: UInt64, systemMicroseconds: UInt64
    /// Peak resident set and virtual memory, in KiB.
    public var peakRSSKiB: UInt64, peakVMKiB: UInt64
    /// Bytes read and written through syscalls, and to or from storage.
    public var readChars: UInt64, writeChars: UInt64, readBytes: UInt64, writeBytes: UInt64
    /// Voluntary and involuntary context switches.
    public var voluntarySwitches: UInt64, involuntarySwitches: UInt64
    /// Time waiting for a CPU and for block I/O, in nanoseconds.
    public var cpuDelayNanoseconds: UInt64, blockIODelayNanoseconds: UInt64

    /// Decodes `struct taskstats` bytes (any version).
    init(id: Int32, isProcessTotal: Bool, bytes: UnsafeRawBufferPointer) {
        var stats = taskstats()
        withUnsafeMutableBytes(of: &stats) { target in
            let count = Swift.min(target.count, bytes.count)
            target.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[..<count]))
        }
        version = stats.version
        self.id = id
        self.isProcessTotal = isProcessTotal
        name = withUnsafeBytes(of: stats.ac_comm) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        pid = stats.ac_pid
        parentPID = stats.ac_ppid
        uid = stats.ac_uid
        gid = stats.ac_gid
        exitCode = stats.ac_exitcode
        elapsedMicroseconds = stats.ac_etime
        userMicroseconds = stats.ac_utime
        systemMicroseconds = stats.ac_stime
        peakRSSKiB = stats.hiwater_rss
        peakVMKiB = stats.hiwater_vm
        readChars = stats.read_char
        writeChars = stats.write_char
        readBytes = stats.read_bytes
        writeBytes = stats.write_bytes
        voluntarySwitches = stats.nvcsw
        involuntarySwitches = stats.nivcsw
        cpuDelayNanoseconds = stats.cpu_delay_total
        blockIODelayNanoseconds = stats.blkio_delay_total
    }

    /// The exit record of `task` as the kernel-side (eBPF) watchers took it at its exit: the
    /// same figures (CPU, peak RSS, I/O) from the task itself, so that every consumer of
    /// exit records accounts for both backends alike. What the watchers do not take
    /// (elapsed time, virtual memory peak, context switches, delays) stays zero.
    public init(exitOf task: TaskID, name: String, parentPID: Int32, exitCode: UInt32, usage: ResourceUsage) {
        version = 0
        id = task.tid
        isProcessTotal = false
        self.name = name
        pid = UInt32(bitPattern: task.pid)
        self.parentPID = UInt32(bitPattern: parentPID)
        uid = 0
        gid = 0
        self.exitCode = exitCode
        elapsedMicroseconds = 0
        userMicroseconds = usage.userMicroseconds
        systemMicroseconds = usage.systemMicroseconds
        peakRSSKiB = usage.peakRSSKiB
        peakVMKiB = 0
        readChars = usage.readChars
        writeChars = usage.writeChars
        readBytes = usage.readBytes
        writeBytes = usage.writeBytes
        voluntarySwitches = 0
        involuntarySwitches = 0
        cpuDelayNanoseconds = 0
        blockIODelayNanoseconds = 0
    }

    /// Decodes the records in one TASKSTATS_CMD_NEW message's attributes (after genlmsghdr):
    /// `AGGR_PID {PID, STATS}` and `AGGR_TGID {TGID, STATS}`.
    static func decode(attributes: UnsafeRawBufferPointer) -> [TaskstatsRecord] {
        var records: [TaskstatsRecord] = []
        for aggregate in NetlinkAttributes(attributes) {
            let isProcess: Bool
            switch aggregate.type {
            case UInt16(TASKSTATS_TYPE_AGGR_PID): isProcess = false
            case UInt16(TASKSTATS_TYPE_AGGR_TGID): isProcess = true
            default: continue
            }
            var id: Int32?
            for inner in NetlinkAttributes(aggregate.value) {
                switch inner.type {
                case UInt16(TASKSTATS_TYPE_PID), UInt16(TASKSTATS_TYPE_TGID):
                    id = inner.value.read(Int32.self, at: 0)
                case UInt16(TASKSTATS_TYPE_STATS):
                    if let id, inner.value.count >= 2 {
                        records.append(TaskstatsRecord(id: id, isProcessTotal: isProcess, bytes: inner.value))
                    }
                default: break
                }
            }
        }
        return records
    }
}
