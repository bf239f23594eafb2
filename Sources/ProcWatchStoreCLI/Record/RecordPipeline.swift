import ProcWatch
@_spi(Benchmarks) import ProcWatchCLI
import ProcWatchStore

/// What `procwatch record` runs on the reader thread for every event: process table →
/// the command's tree (with a command) → the live view's filters → the recorder, which
/// keeps every event of a selected process in its `processes` row and stores as an
/// `events` row only those `-e` selects.
final class RecordPipeline: @unchecked Sendable {
    // @unchecked: `filter` and `taskstatsLoss` are used on the reader thread only; the job is behind a lock.
    private let table: ProcessTable
    private let recorder: Recorder
    private let selection: EventSelection
    private var filter: LiveFilter
    private let job: SharedJob
    private let recordsCommand: Bool
    private let ownPID: Int32
    private let taskstats: TaskstatsListener?
    private var taskstatsLoss = TaskstatsLossCheck()

    /// With `recordsCommand`, only the tree of processes this process starts is recorded.
    init(recorder: Recorder, selection: EventSelection, filter: LiveFilter, taskstats: TaskstatsListener?,
         ownPID: Int32, recordsCommand: Bool) {
        self.recorder = recorder
        self.selection = selection
        self.filter = filter
        self.ownPID = ownPID
        self.recordsCommand = recordsCommand
        self.taskstats = taskstats
        let job = SharedJob(Job(root: ownPID, includeRoot: false))
        self.job = job
        // The table reads the exit records (each before its exit event) and names with
        // them the processes /proc could not; the recorder and the job account for them.
        table = ProcessTable(exitNames: taskstats, executables: true) { [recorder] record in
            recorder.account(record)
            if recordsCommand { job.withLock { $0.account(record) } }
        }
    }

    /// At the end of each kernel batch (on the reader thread, which reads the taskstats
    /// socket): records a `lost` event if that socket overflowed during the batch.
    func batchEnded() {
        guard let taskstats else { return }
        if let lost = taskstatsLoss.check(overflowCount: taskstats.overflowCount, lostRecords: taskstats.lostRecords, at: .now) {
            recorder.record(lost, process: nil)
        }
    }

    /// The recorded command's job so far.
    var jobSnapshot: Job? { recordsCommand ? job.snapshot : nil }

    func handle(_ event: ProcessEvent) {
        filter.admit(event)
        let process = table.apply(event)
        defer {
            table.retire(event)
            filter.retire(event)
        }
        var wanted = true
        if recordsCommand {
            wanted = job.withLock { job in
                var member = event.subject.map { $0.pid != ownPID && job.contains($0.pid) } ?? true
                if case .fork(let parent, let child) = event.detail, !child.isThread, job.contains(parent.pid) { member = true }
                job.apply(event, record: process)
                return member
            }
        }
        guard wanted else { return }
        // The processes rows see every event of the processes the filters select, whatever
        // `-e` shows (else they never end); the events table keeps what `-e` asked for.
        if filter.matches(ObservedEvent(event: event, process: process)) {
            recorder.record(event, process: process, stored: event.kind == nil || selection.shows(event))
        } else {
            recorder.follow(event, process: process)
        }
    }
}
