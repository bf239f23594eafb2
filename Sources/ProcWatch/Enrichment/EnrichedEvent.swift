/// An event together with what the process table knew of its subject: the one thing
/// every consumer of the enrichment stage receives.
///
/// ```swift
/// let watchers = ProcessWatchers()
/// watchers.onEnriched(.exec) { enriched in
///     print(enriched.event.pid!, enriched.process?.commandLine ?? [])
/// }
/// ```
///
/// The command line and name of an exec were read from /proc before anything else of its
/// kernel batch was handled; an exit carries its taskstats record (root), read from the
/// kernel before the event was delivered.
public struct EnrichedEvent: Sendable, Hashable {
    /// The event as the kernel sent it (or a `lost` report).
    public var event: ProcessEvent
    /// The subject process after the event was applied (for `fork`: the child; for `exit`:
    /// with its end time). nil for `lost`, for unknown kinds, and when nothing was enriched.
    public var process: ProcessRecord?
    /// The subject as it was before an `exec`, `comm` or `uid` event changed it (the name
    /// it had before it ran a new program or renamed itself); nil for other events.
    public var previous: ProcessRecord?
    /// For `exit`: the kernel's accounting record of the exiting task (a thread's exit
    /// carries the thread's): from taskstats when exit records are read (CAP_NET_ADMIN) and
    /// it arrived, or made from the figures the kernel-side watchers took at the exit.
    public var exitRecord: TaskstatsRecord?

    /// Creates an enriched event.
    public init(event: ProcessEvent, process: ProcessRecord? = nil, previous: ProcessRecord? = nil,
                exitRecord: TaskstatsRecord? = nil) {
        self.event = event
        self.process = process
        self.previous = previous
        self.exitRecord = exitRecord
    }
}
