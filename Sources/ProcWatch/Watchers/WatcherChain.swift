/// What a watcher tells the rest of its chain.
public enum WatcherChain: Sendable {
    /// Run the next watcher for this event.
    case `continue`
    /// Skip the remaining watchers for this event (the seed's "a watcher may stop the chain").
    case stop
}

/// A watcher that threw: which one, on which event, and the error.
public struct WatcherFailure: Sendable {
    /// The handle of the watcher that threw.
    public var watcher: WatcherHandle
    /// The event it was handling.
    public var event: ProcessEvent
    /// What it threw.
    public var error: any Error
}

/// Which processes a watcher cares about.
public enum WatcherScope: Sendable, Hashable {
    /// Every process.
    case everyProcess
    /// Only the process with this pid (all its threads).
    case process(Int32)
    /// The process with this pid and every descendant forked while watching, followed
    /// through re-parenting (a daemon that double-forks stays in the tree).
    case tree(root: Int32)
}
