/// The pids of one process tree, kept current from fork and exit events.
///
/// A child joins when the kernel reports it forked from a member (threads share their
/// process's pid), so a double-forked daemon stays in — its fork event names the member
/// that created it, whatever it is re-parented to later. A process leaves at its exit,
/// so a later process that reuses the pid is not mistaken for a member.
public struct ProcessTree: Sendable, Hashable {
    /// The pids in the tree now.
    public private(set) var members: Set<Int32>
    /// The process the tree grows from.
    public let root: Int32

    /// A tree holding only `root`.
    public init(root: Int32) {
        self.root = root
        members = [root]
    }

    /// Whether `pid` is in the tree.
    public func contains(_ pid: Int32) -> Bool { members.contains(pid) }

    /// Adds a child forked by a member. Call before the event is handled.
    public mutating func admit(_ event: ProcessEvent) {
        if case .fork(let parent, let child) = event.detail, members.contains(parent.pid) || members.contains(parent.tid) {
            members.insert(child.pid)
        }
    }

    /// Drops a process that exited. Call after the event was handled.
    public mutating func retire(_ event: ProcessEvent) {
        if case .exit(let task, _, _, _) = event.detail, !task.isThread { members.remove(task.pid) }
    }
}
