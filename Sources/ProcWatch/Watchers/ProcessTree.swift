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
    /// Whether the descendants alive now are still to be read from /proc (at the first event).
    private var seedPending: Bool

    /// A tree holding only `root` (for a root just started, which has no descendants yet).
    public init(root: Int32) {
        self.init(root: root, includingLiveDescendants: false)
    }

    /// A tree holding `root` and, with `includingLiveDescendants`, every descendant it has
    /// alive, read from /proc's parent links now and read again when the first event is
    /// admitted. By then the subscription is live, so every process is either in /proc or
    /// announced by a fork event still to come: none falls between the read and the stream.
    /// The second read adds to the first, never removes: a member gone from /proc by then may
    /// have exited after the subscription started, its events still to be delivered (with
    /// a kernel-side filter on the tree, the first event is often such a member's exit).
    public init(root: Int32, includingLiveDescendants: Bool) {
        self.root = root
        members = [root]
        seedPending = includingLiveDescendants
        if includingLiveDescendants { members.formUnion(Self.liveDescendants(of: root)) }
    }

    /// Whether `pid` is in the tree.
    public func contains(_ pid: Int32) -> Bool { members.contains(pid) }

    /// Adds a child forked by a member. Call before the event is handled.
    public mutating func admit(_ event: ProcessEvent) {
        if seedPending {
            seedPending = false
            members.formUnion(Self.liveDescendants(of: root))
        }
        guard case .fork(let parent, let child) = event.detail else { return }
        if members.contains(parent.pid) || members.contains(parent.tid) {
            members.insert(child.pid)
        } else if !child.isThread {
            // A new process forked outside the tree has a pid a member had: that member's
            // exit never came (lost, or it exited before the seed read /proc), and the pid is
            // someone else's now.
            members.remove(child.pid)
        }
    }

    /// Drops a process that exited. Call after the event was handled.
    public mutating func retire(_ event: ProcessEvent) {
        if case .exit(let task, _, _, _) = event.detail, !task.isThread { members.remove(task.pid) }
    }

    /// `root`'s descendants alive now, from every process's parent in /proc.
    static func liveDescendants(of root: Int32) -> Set<Int32> {
        let procfs = ProcFS()
        var children: [Int32: [Int32]] = [:]
        for pid in procfs.pids() {
            if let parent = procfs.status(pid)?.parent { children[parent, default: []].append(pid) }
        }
        var found: Set<Int32> = []
        var pending = children[root] ?? []
        while let pid = pending.popLast() {
            guard found.insert(pid).inserted else { continue }
            pending += children[pid] ?? []
        }
        return found
    }
}
