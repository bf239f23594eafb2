import ProcWatch

/// `--pid`, `--tree`, `--comm`, `--user`: all given ones must match. Loss reports always pass.
/// procwatch's own process (its reader and worker threads come and go, rename themselves and
/// exit) is left out unless `--include-self`.
package struct LiveFilter: @unchecked Sendable {
    // @unchecked: Regex is not Sendable; the filter is used by the reader thread only.
    var pid: Int32?
    var tree: ProcessTree?
    package var comm: Regex<AnyRegexOutput>?
    var uid: UInt32?
    /// The process whose events never pass: procwatch's own, unless `--include-self`.
    package var excludedPID: Int32?

    /// A filter of the given options (none: everything passes).
    init(pid: Int32? = nil, tree: ProcessTree? = nil, uid: UInt32? = nil, excludedPID: Int32? = nil) {
        self.pid = pid
        self.tree = tree
        self.uid = uid
        self.excludedPID = excludedPID
    }

    /// Updates the tree before the event is shown (a fork by a member adds the child).
    package mutating func admit(_ event: ProcessEvent) { tree?.admit(event) }

    /// Updates the tree after the event was shown (an exit removes the member).
    package mutating func retire(_ event: ProcessEvent) { tree?.retire(event) }

    /// The part of this filter the kernel-side watchers decide in the kernel, so that events
    /// nobody asked for never reach user space: the followed processes (`--pid`, or `--tree`
    /// with the descendants it has now; the programs add the children they fork) and the user.
    /// ``matches(_:)`` stays the final word. The connector ignores these options.
    ///
    /// - Parameter descendantsOfPID: also follow what `--pid`'s process forks, and their
    ///   children (for `record`, whose row of a forked child ends only at that child's exit).
    package func kernelSelection(_ base: ProcessEventSource.KernelWatcherOptions = .init(), descendantsOfPID: Bool = false)
        -> ProcessEventSource.KernelWatcherOptions {
        var options = base
        if let tree {
            options.followedProcesses = tree.members
            options.followsDescendants = true
        } else if let pid {
            options.followedProcesses = [pid]
            options.followsDescendants = descendantsOfPID
        }
        options.userID = uid
        return options
    }

    /// Whether the event, with the table's view of its subject, passes every given filter.
    package func matches(_ enriched: EnrichedEvent) -> Bool {
        let event = enriched.event
        guard let subject = event.subject else { return true }
        if let excludedPID, subject.pid == excludedPID { return false }
        if let pid {
            var forkedByIt = false
            if case .fork(let parent, _) = event.detail { forkedByIt = parent.pid == pid }
            guard subject.pid == pid || forkedByIt else { return false }
        }
        if let tree, !tree.contains(subject.pid) { return false }
        if let comm {
            let name = enriched.process?.name ?? ""
            let argv0 = enriched.process?.commandLine.first.map { String($0.split(separator: "/").last ?? "") } ?? ""
            let current: String
            if case .comm(_, let new) = event.detail { current = new } else { current = name }
            guard (try? comm.firstMatch(in: current)) != nil || (!argv0.isEmpty && (try? comm.firstMatch(in: argv0)) != nil)
            else { return false }
        }
        if let uid {
            if case .uid(_, let real, let effective) = event.detail, real == uid || effective == uid { return true }
            guard enriched.process?.uid == uid else { return false }
        }
        return true
    }
}
