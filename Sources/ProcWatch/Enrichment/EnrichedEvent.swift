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
    /// What only some events carry, out of line: an enriched event is handed through every
    /// consumer's closures for each of tens of thousands of events a second, and an exit
    /// record alone is larger than everything else together.
    private var extras: Extras?

    /// The subject as it was before an `exec`, `comm` or `uid` event changed it (the name
    /// it had before it ran a new program or renamed itself); nil for other events.
    public var previous: ProcessRecord? {
        get { extras?.previous }
        set { extras = Extras(previous: newValue, exitRecord: exitRecord) }
    }

    /// For `exit`: the kernel's accounting record of the exiting task (a thread's exit
    /// carries the thread's), when exit records are read (CAP_NET_ADMIN) and it arrived.
    public var exitRecord: TaskstatsRecord? {
        get { extras?.exitRecord }
        set { extras = Extras(previous: previous, exitRecord: newValue) }
    }

    /// Creates an enriched event.
    public init(event: ProcessEvent, process: ProcessRecord? = nil, previous: ProcessRecord? = nil,
                exitRecord: TaskstatsRecord? = nil) {
        self.event = event
        self.process = process
        if previous != nil || exitRecord != nil { extras = Extras(previous: previous, exitRecord: exitRecord) }
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.event == rhs.event && lhs.process == rhs.process && lhs.previous == rhs.previous && lhs.exitRecord == rhs.exitRecord
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(event)
        hasher.combine(process)
        hasher.combine(previous)
        hasher.combine(exitRecord)
    }

    /// Immutable, so sharing it between copies is safe.
    private final class Extras: Sendable {
        let previous: ProcessRecord?
        let exitRecord: TaskstatsRecord?

        init?(previous: ProcessRecord?, exitRecord: TaskstatsRecord?) {
            guard previous != nil || exitRecord != nil else { return nil }
            self.previous = previous
            self.exitRecord = exitRecord
        }
    }
}
