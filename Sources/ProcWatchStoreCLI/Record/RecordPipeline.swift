import ProcWatch
import ProcWatchCLI
import ProcWatchStore

/// What `procwatch record` does with each enriched event, on the reader thread: the
/// command's tree (with a command) → the live view's filters → the recorder, which keeps
/// every event of a selected process in its `processes` row and stores as an `events` row
/// only those `-e` selects.
final class RecordPipeline: @unchecked Sendable {
    // @unchecked: `filter` is used on the reader thread only; the job is behind a lock.
    private let recorder: any RecordingDestination
    private let selection: EventSelection
    private var filter: LiveFilter
    private let job: SharedJob
    private let recordsCommand: Bool
    private let ownPID: Int32

    /// With `recordsCommand`, only the tree of processes this process starts is recorded.
    init(recorder: any RecordingDestination, selection: EventSelection, filter: LiveFilter, ownPID: Int32, recordsCommand: Bool) {
        self.recorder = recorder
        self.selection = selection
        self.filter = filter
        self.ownPID = ownPID
        self.recordsCommand = recordsCommand
        job = SharedJob(Job(root: ownPID, includeRoot: false))
    }

    /// The recorded command's job so far.
    var jobSnapshot: Job? { recordsCommand ? job.snapshot : nil }

    func handle(_ enriched: EnrichedEvent) {
        let event = enriched.event
        filter.admit(event)
        defer { filter.retire(event) }
        var wanted = true
        if recordsCommand {
            wanted = job.withLock { job in
                var member = event.subject.map { $0.pid != ownPID && job.contains($0.pid) } ?? true
                if case .fork(let parent, let child) = event.detail, !child.isThread, job.contains(parent.pid) { member = true }
                job.apply(enriched)
                return member
            }
        }
        guard wanted else { return }
        // The processes rows see every event of the processes the filters select, whatever
        // `-e` shows (else they never end); the events table keeps what `-e` asked for.
        if filter.matches(enriched) {
            recorder.record(enriched, stored: event.kind == nil || selection.shows(event))
        } else {
            recorder.follow(enriched)
        }
    }
}
