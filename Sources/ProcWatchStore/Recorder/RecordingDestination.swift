import ProcWatch

/// Where `procwatch record` puts a recording's events: an SQLite file (``Recorder``) or the
/// fleet store's sink. Both are called on the reader thread and only append to memory.
package protocol RecordingDestination: AnyObject, Sendable {
    /// Adds an event: to its process's row always, as an `events` row when `stored`.
    func record(_ enriched: EnrichedEvent, stored: Bool)
    /// Applies an event the filters did not select to its process's row, if it has one.
    func follow(_ enriched: EnrichedEvent)
}

extension Recorder: RecordingDestination {}
