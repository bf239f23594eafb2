import Foundation
import OutputBytes
import ProcWatch
import ProcWatchStore

/// One recording's events turned into ``FleetBatch``es: the same process rows as the SQLite
/// recorder keeps (``ProcessLedger``), and the same values in the same columns
/// (``EventRow``, ``ProcessRow``), written as COPY text.
struct BatchEncoder: Sendable {
    /// The recording's UUID.
    let recording: UUID
    private let recordingText: String
    private var ledger = ProcessLedger(firstID: 1)
    private var events: [EventRow] = []
    private var newest: Int64?
    private var nextSequence: Int64 = 1
    /// The recording's row, until the first batch carries it.
    private var start: FleetRecordingStart?

    /// Events waiting for the next batch.
    var pendingEvents: Int { events.count }

    /// A new recording described by `session`, started now.
    init(session: RecordingSession, bootID: String, recording: UUID = UUID()) {
        self.recording = recording
        recordingText = recording.uuidString.lowercased()
        let started = StoreClock.unixNanoseconds()
        start = FleetRecordingStart(bootID: bootID, arguments: session.arguments, command: session.command,
                                    filters: session.filters, started: started,
                                    startedMonotonic: StoreClock.monotonicNanoseconds(), taskstats: session.taskstats)
    }

    /// As ``ProcWatchStore/Recorder/record(_:stored:)``.
    mutating func record(_ enriched: EnrichedEvent, stored: Bool) {
        let id = ledger.apply(enriched)
        guard stored else { return }
        events.append(EventRow(event: enriched.event, process: enriched.process, processID: id))
        newest = max(newest ?? .min, enriched.event.timestamp.unixNanoseconds)
    }

    /// As ``ProcWatchStore/Recorder/follow(_:)``.
    mutating func follow(_ enriched: EnrichedEvent) { ledger.follow(enriched) }

    /// Takes the events and process changes since the last batch (cheap: the caller holds
    /// the lock the reader thread waits on); ``PendingBatch/encode()`` makes the batch after.
    /// nil when there is nothing to write.
    mutating func take(loss: Int = 0, end: FleetRecordingEnd? = nil) -> PendingBatch? {
        let changes = ledger.takeChanges()
        guard !events.isEmpty || !changes.isEmpty || loss > 0 || end != nil || start != nil else { return nil }
        defer {
            nextSequence += 1
            events.removeAll(keepingCapacity: true)
            newest = nil
            start = nil
        }
        return PendingBatch(recording: recordingText, header: FleetBatch(
            recording: recording, sequence: nextSequence, eventCount: 0, carriedLoss: loss, newestEvent: newest,
            start: start, end: end, events: [], processes: []), events: events, changes: changes)
    }
}

/// A batch's rows as taken from the reader's side, to be written as COPY text.
struct PendingBatch: Sendable {
    let recording: String
    var header: FleetBatch
    let events: [EventRow]
    let changes: [ProcessRow]

    /// The batch: a `lost` row first when it carries a loss, then the events, and the
    /// changed processes.
    func encode() -> FleetBatch {
        var batch = header
        let eventRows = CopyRows(columns: 2 + EventRow.columns.count)
        if batch.carriedLoss > 0 {
            let lost = ProcessEvent(detail: .lost(count: batch.carriedLoss, reason: .spool, cpu: nil), timestamp: .now)
            batch.newestEvent = max(batch.newestEvent ?? .min, lost.timestamp.unixNanoseconds)
            write(EventRow(event: lost, process: nil, processID: nil), to: eventRows)
        }
        for row in events { write(row, to: eventRows) }
        let processRows = CopyRows(columns: ProcessRow.columns.count)
        for row in changes {
            processRows.text(2, recording)
            var values = processRows
            row.write(to: &values)
            processRows.endRow()
        }
        batch.eventCount = eventRows.count
        batch.events = eventRows.bytes
        batch.processes = processRows.bytes
        return batch
    }

    /// An `events` row: the recording, the batch, then ``EventRow``'s positions shifted by one.
    private func write(_ row: EventRow, to rows: CopyRows) {
        rows.text(1, recording)
        rows.integer(2, header.sequence)
        var shifted = Shifted(rows: rows)
        row.write(to: &shifted)
        rows.endRow()
    }

    /// ``EventRow``'s positions (1: recording, 2: process, …) one further on, after `batch`.
    private struct Shifted: ColumnValues {
        let rows: CopyRows
        mutating func integer(_ position: Int32, _ value: Int64) { rows.integer(position + 1, value) }
        mutating func real(_ position: Int32, _ value: Double) { rows.real(position + 1, value) }
        mutating func text(_ position: Int32, _ write: (inout [UInt8]) -> Void) { rows.text(position + 1, write) }
    }
}
