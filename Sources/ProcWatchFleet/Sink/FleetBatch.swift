import Foundation

/// What one commit to the fleet store writes: a recording's events and changed processes
/// since its previous batch, as COPY text rows (``CopyRows``) without the `host` column
/// (added when written: a batch sealed before the server ever answered has no host id yet).
///
/// Written in one transaction together with its `procwatch.batches` row, keyed by
/// (``recording``, ``sequence``): a batch written again (after a lost connection, or from a
/// spool file) is recognized and skipped.
struct FleetBatch: Sendable, Equatable, Codable {
    /// The recording's UUID.
    var recording: UUID
    /// 1, 2, 3… within the recording.
    var sequence: Int64
    /// The number of `events` rows (a leading `lost` row included).
    var eventCount: Int
    /// The count of the leading `lost` row (reason `spool`), 0 when there is none.
    var carriedLoss: Int
    /// The time (Unix nanoseconds) of the newest event, nil when there are no events.
    var newestEvent: Int64?
    /// The recording's row, in its first batch.
    var start: FleetRecordingStart?
    /// The recording's end, in its last batch.
    var end: FleetRecordingEnd?
    /// `events` rows: recording, batch, process, then the contract's columns.
    var events: [UInt8]
    /// `processes` rows: ``ProcWatchStore/ProcessRow/columns``.
    var processes: [UInt8]

    /// The events this batch stands for besides its `lost` row: what is lost if it is dropped.
    var recordedEvents: Int { eventCount - (carriedLoss > 0 ? 1 : 0) }

    /// Its size in memory or in a spool file, near enough (the rows dominate).
    var bytes: Int { events.count + processes.count + 256 }
}

/// The `procwatch.recordings` row of a recording, as its first batch carries it.
struct FleetRecordingStart: Sendable, Equatable, Codable {
    var bootID: String
    var arguments: [String]
    var command: [String]?
    var filters: String?
    var started: Int64
    var startedMonotonic: Int64
    var taskstats: Bool
}

/// How a recording ended, as its last batch carries it.
struct FleetRecordingEnd: Sendable, Equatable, Codable {
    var ended: Int64
    var endedMonotonic: Int64
    var reason: String
}
