/// A kernel task as user space names it: the process it belongs to and its own thread id.
///
/// The kernel's names are the other way round: its `tgid` is our `pid` and its
/// `pid` is our `tid`. A process's main thread has `tid == pid`.
public struct TaskID: Sendable, Hashable, CustomStringConvertible {
    /// Process id (the kernel's thread group id, `tgid`).
    public var pid: Int32
    /// Thread id (the kernel's `pid`).
    public var tid: Int32

    /// Creates a task id from a process id and a thread id.
    public init(pid: Int32, tid: Int32) {
        self.pid = pid
        self.tid = tid
    }

    /// True for a thread other than its process's main thread.
    public var isThread: Bool { pid != tid }

    /// `"pid"` for a main thread, `"pid/tid"` for another thread.
    public var description: String { isThread ? "\(pid)/\(tid)" : "\(pid)" }
}
