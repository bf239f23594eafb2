/// Why events are missing from a stream.
public enum LossReason: String, Sendable, Hashable, CaseIterable {
    /// A CPU's sequence numbers skipped (unfiltered subscriptions only): the count is exact.
    case sequenceGap = "seq_gap"
    /// The socket's receive buffer overflowed (ENOBUFS). The count is the kernel's drop
    /// counter for the socket when it reports one.
    case overflow = "enobufs"
    /// A consumer fell so far behind that its own buffer filled and events were dropped for it.
    case backlog = "backlog"
    /// A kernel message could not be decoded (truncated or corrupt) and was skipped.
    case malformed = "malformed"
    /// The taskstats socket overflowed: exit records (CPU, memory and I/O figures) were
    /// dropped, not process events. The count is the socket's drop counter when it reports one.
    /// ``TaskstatsListener`` counts these; `procwatch record` stores them as `lost` events.
    case taskstats = "taskstats"
    /// The kernel-side (eBPF) watchers' ring buffer was full: the programs counted each
    /// event they could not hand over, so the count is exact.
    case ringBuffer = "ringbuf"
    /// A recorder that keeps a history (`procwatch daemon`) was killed and started again:
    /// everything between its last commit and the restart is missing. The count is unknown.
    case restart = "restart"
    /// The /proc scanner (``EventOrigin/procfs``) missed tasks that started and ended
    /// between two scans. The count is exact where the pid namespace's last allocated pid
    /// (`/proc/sys/kernel/ns_last_pid`) tells which pid numbers were handed out meanwhile;
    /// it counts tasks (threads too), since threads take pid numbers as well.
    case scanGap = "scan_gap"
    /// A fleet sink (`daemon` with `sink`, `record --to`) could not reach its PostgreSQL
    /// server for so long that its spool filled: the batches past the bound were dropped.
    /// The count is exact.
    case spool = "spool"
}
