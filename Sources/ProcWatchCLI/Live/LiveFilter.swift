import ProcWatch

/// `--pid`, `--tree`, `--comm`, `--user`, `--cgroup`, `--container`: all given ones must match. Loss reports always pass.
/// procwatch's own process (its reader and worker threads come and go, rename themselves and
/// exit) is left out unless `--include-self`.
///
/// The command line gives at most one of each; a daemon client's selection may name several
/// processes, trees and users (`pids`, `trees`, `users` in docs/daemon-protocol.md): any of
/// the processes or trees, and any of the users, then match.
package struct LiveFilter: @unchecked Sendable {
    // @unchecked: Regex is not Sendable; the filter is used by one thread only (the reader's,
    // or the daemon's client loop).
    /// Processes followed with the forks they make (`--pid`); empty: any process.
    package var pids: Set<Int32> = []
    /// Trees followed (`--tree`); a process in any of them, or in ``pids``, matches.
    package var trees: [ProcessTree] = []
    package var comm: Regex<AnyRegexOutput>?
    /// Real uids (`--user`); empty: any user.
    package var uids: Set<UInt32> = []
    /// The subject's cgroup path must match (`--cgroup`).
    package var cgroup: Regex<AnyRegexOutput>?
    /// The subject's container id must start with this (`--container`).
    package var containerPrefix: String?

    /// The part of the filter a daemon does not apply (its selection protocol has no cgroup
    /// or container): the client applies it to the events' own `cgroup` fields.
    package var clientSide: LiveFilter {
        var kept = LiveFilter(excludedPID: excludedPID)
        kept.cgroup = cgroup
        kept.containerPrefix = containerPrefix
        return kept
    }

    /// The command line's single `--pid`.
    var pid: Int32? {
        get { pids.first }
        set { pids = newValue.map { [$0] } ?? [] }
    }

    /// The command line's single `--tree`.
    var tree: ProcessTree? {
        get { trees.first }
        set { trees = newValue.map { [$0] } ?? [] }
    }

    /// The command line's single `--user`.
    package var uid: UInt32? {
        get { uids.first }
        set { uids = newValue.map { [$0] } ?? [] }
    }

    /// A filter that passes everything (options are set one by one).
    package init() {}
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
    package mutating func admit(_ event: ProcessEvent) {
        for index in trees.indices { trees[index].admit(event) }
    }

    /// Updates the tree after the event was shown (an exit removes the member).
    package mutating func retire(_ event: ProcessEvent) {
        for index in trees.indices { trees[index].retire(event) }
    }

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
        if !trees.isEmpty {
            options.followedProcesses = trees.reduce(into: pids) { $0.formUnion($1.members) }
            options.followsDescendants = true
        } else if !pids.isEmpty {
            options.followedProcesses = pids
            options.followsDescendants = descendantsOfPID
        }
        // The kernel-side programs filter on one user; with several, `matches` alone decides.
        options.userID = uids.count == 1 ? uids.first : nil
        return options
    }

    /// Whether the event, with the table's view of its subject, passes every given filter.
    package func matches(_ enriched: EnrichedEvent) -> Bool {
        let event = enriched.event
        guard let subject = event.subject else { return true }
        if let excludedPID, subject.pid == excludedPID { return false }
        if !pids.isEmpty || !trees.isEmpty {
            var forkedByOne = false
            if case .fork(let parent, _) = event.detail { forkedByOne = pids.contains(parent.pid) }
            guard pids.contains(subject.pid) || forkedByOne || trees.contains(where: { $0.contains(subject.pid) })
            else { return false }
        }
        if let comm {
            let name = enriched.process?.name ?? ""
            let argv0 = enriched.process?.commandLine.first.map { String($0.split(separator: "/").last ?? "") } ?? ""
            let current: String
            if case .comm(_, let new) = event.detail { current = new } else { current = name }
            guard (try? comm.firstMatch(in: current)) != nil || (!argv0.isEmpty && (try? comm.firstMatch(in: argv0)) != nil)
            else { return false }
        }
        if let cgroup {
            guard let path = enriched.process?.cgroup, (try? cgroup.firstMatch(in: path)) != nil else { return false }
        }
        if let containerPrefix {
            guard let id = enriched.process?.container?.id, id.hasPrefix(containerPrefix) else { return false }
        }
        if !uids.isEmpty {
            if case .uid(_, let real, let effective) = event.detail, uids.contains(real) || uids.contains(effective) { return true }
            guard let uid = enriched.process?.uid, uids.contains(uid) else { return false }
        }
        return true
    }
}
