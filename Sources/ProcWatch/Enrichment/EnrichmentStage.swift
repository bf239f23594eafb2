/// The one step between the kernel and every consumer that wants to know more than pids:
/// it owns the process table, reads /proc for each batch's execs before anything else,
/// merges the taskstats exit records, and turns each event into an ``EnrichedEvent``.
///
/// For each batch the reader received, in this order:
/// 1. ``prepare(_:)``: /proc is read for every exec of the batch — command lines of all of
///    them first — before any other event of the batch is handled, before any output and
///    before the reader could pause. A process like `sed` lives for well under a
///    millisecond: the read cannot wait.
/// 2. Still in ``prepare(_:)``: the queued exit records are read. Each is sent before its
///    task's exit event, so the batch's exits all have theirs now; so has every exec whose
///    process was already gone (reaped) when /proc was read.
/// 3. The batch is walked in kernel order: ``enrich(_:at:)`` applies each event to the table
///    and hands out the enriched event; ``retire(_:)`` drops an exited process afterwards.
///
/// Used by the reader thread only (`@unchecked Sendable`); its ``table`` may be read from
/// anywhere.
final class EnrichmentStage: @unchecked Sendable {
    /// The kinds the table needs to stay current, whatever consumers asked for (exits are
    /// theirs to ask: without them, ended processes are swept from /proc now and then).
    static let neededKinds: ProcessEventKinds = [.fork, .exec, .comm, .uid]

    /// Records kept for exit events still to come, at least (exits filtered out never claim
    /// theirs): for accounting as many as a reader far behind a storm may need; for names,
    /// read only now and then, far fewer (most arrive after their exit event went out).
    private var pendingRecordLimit: Int { recordsEveryExit ? 8192 : 1024 }

    let table: ProcessTable
    private let files: any ProcFileSystem
    private let exitRecords: (any ExitRecordSource)?
    /// Why exit records are not read, when they were asked for and could not be.
    let exitRecordsError: ProcWatchError?

    /// What /proc showed for the batch's execs, by position in the batch.
    private var execReads: [Int: ExecSnapshot] = [:]
    /// The batch's execs that a later exec of the same pid in the batch superseded: /proc
    /// shows the later program, so nothing read describes them.
    private var supersededExecs: Set<Int> = []
    /// Exit records by thread id, waiting for their exit event, each with the serial number
    /// of its arrival; `pendingOrder` lists arrivals oldest first (taken ones included until
    /// the next trim, which drops an entry only if its serial still matches).
    private var pendingRecords: [Int32: (record: TaskstatsRecord, serial: Int)] = [:]
    private var pendingOrder: [(tid: Int32, serial: Int)] = []
    private var nextSerial = 0
    private var reportedOverflows = 0
    private var reportedLostRecords = 0

    init(options: ProcessEventSource.Enrichment, files: () -> any ProcFileSystem,
         exitRecords: () throws(ProcWatchError) -> (any ExitRecordSource)?) {
        table = ProcessTable(seed: options.seedsFromProc, executables: options.readsExecutables, files: files())
        self.files = files()
        var source: (any ExitRecordSource)?
        var error: ProcWatchError?
        if options.exitRecords != .none {
            do { source = try exitRecords() } catch let failure { error = failure }
        }
        self.exitRecords = source
        self.exitRecordsError = error
        self.recordsEveryExit = options.exitRecords == .everyExit
    }

    /// Whether every exit must carry its record (else records are read for names only).
    ///
    /// For names only (``ProcessEventSource/ExitRecords/names``) a record is needed only by
    /// a process whose exec /proc could not show (it was gone) — and such a process exited
    /// just after its exec. So the records are read when a name is missing, and every
    /// ``exitsPerDrain`` exits while execs happen (within ``execWindow`` exits of the last
    /// one), which keeps the socket's queue short for the next such name. A plain fork storm
    /// execs nothing: reading each of its exits' records cost the reader a fifth more CPU for
    /// names the table already had, so the queue is left alone; when it fills, the kernel
    /// drops records, which costs only names and is reported (``exitRecordLoss()``) only
    /// when a name was then missing.
    private let recordsEveryExit: Bool
    /// Whether the records were read for the batch being walked.
    private var drainedThisBatch = false
    /// Names only: exits since the records were last read, and since the last exec.
    private var exitsSinceDrain = 0
    private var exitsSinceExec = Int.max
    /// Names only: while execs happen, the records are read at least every this many exits.
    static let exitsPerDrain = 32
    /// Names only: exits after the last exec during which the records are still read.
    static let execWindow = 1024
    /// Names only: records the kernel dropped while the queue read by the last drain built
    /// up (nil: it did not overflow), and whether a name was missing since that drain.
    private var droppedBeforeLastDrain: Int?
    private var missedNameAfterDrop = false

    /// Reads ahead for one batch (steps 1 and 2 above); returns whether it holds an exec.
    @discardableResult
    func prepare(_ messages: [ConnectorMessage]) -> Bool {
        execReads.removeAll(keepingCapacity: true)
        supersededExecs.removeAll(keepingCapacity: true)
        // The exec to read for each pid: its last in the batch. An earlier exec of the same
        // process is superseded (/proc shows the later program); one whose process exited
        // within the batch has nothing left to read (a process loses its command line before
        // its exit event is sent) and is named by its exit record.
        var latest: [Int32: Int] = [:]
        var hasExit = false
        // Whether an exec of the batch will need its exit record for a name (its process
        // is gone, or exited within the batch).
        var gone = false
        for (index, message) in messages.enumerated() {
            guard case .event(let event) = message else { continue }
            switch event.detail {
            case .exec(let task):
                // The kernel-side watchers took the command line at the exec: nothing to read.
                if event.kernelDetails?.exec != nil { continue }
                exitsSinceExec = 0
                if let earlier = latest.updateValue(index, forKey: task.pid) { supersededExecs.insert(earlier) }
            case .exit(let task, _, _, _):
                hasExit = true
                if !task.isThread, latest.removeValue(forKey: task.pid) != nil { gone = true }
            default:
                break
            }
        }
        let hasExec = !latest.isEmpty || !supersededExecs.isEmpty
        if !latest.isEmpty {
            let order = latest.sorted { $0.value < $1.value }
            let snapshots = files.readExecs(of: order.map(\.key), executables: table.readsExecutables)
            for (position, entry) in order.enumerated() {
                if let snapshot = snapshots[position] { execReads[entry.value] = snapshot } else { gone = true }
            }
        }
        // Records are queued before their exit events: read now, they cover the batch's
        // exits and every exec whose process was already gone.
        drainedThisBatch = false
        if recordsEveryExit ? hasExit || gone : gone { drainExitRecords() }
        return hasExec
    }

    /// A `lost` report when exit records were dropped since the last one (the socket
    /// overflowed); for names only, when a name was missing after records were dropped.
    func exitRecordLoss() -> ProcessEvent? {
        guard let exitRecords else { return nil }
        if !recordsEveryExit {
            guard missedNameAfterDrop else { return nil }
            missedNameAfterDrop = false
            let count = droppedBeforeLastDrain.flatMap { $0 > 0 ? $0 : nil }
            droppedBeforeLastDrain = nil
            return ProcessEvent(detail: .lost(count: count, reason: .taskstats, cpu: nil), timestamp: .now)
        }
        let overflows = exitRecords.overflowCount
        guard overflows > reportedOverflows else { return nil }
        let lost = exitRecords.lostRecords
        defer {
            reportedOverflows = overflows
            reportedLostRecords = lost
        }
        let count = lost > reportedLostRecords ? lost - reportedLostRecords : nil
        return ProcessEvent(detail: .lost(count: count, reason: .taskstats, cpu: nil), timestamp: .now)
    }

    /// Names only: a name the records should have given is missing; after a drop, that is
    /// what the drop cost, and ``exitRecordLoss()`` reports it.
    private func missedName() {
        if !recordsEveryExit, droppedBeforeLastDrain != nil { missedNameAfterDrop = true }
    }

    /// Applies `event` (the batch's message number `index`, nil for reports the reader made)
    /// to the table and returns it enriched.
    func enrich(_ event: ProcessEvent, at index: Int?) -> EnrichedEvent {
        switch event.detail {
        case .exec(let task):
            let previous = table[task.pid]
            if let details = event.kernelDetails?.exec {
                let name = details.name ?? Self.execName(details.executable)
                let snapshot = ExecSnapshot(commandLine: details.commandLine, name: name, executable: details.executable,
                                            cgroup: cgroupPath(of: task.pid, details))
                return EnrichedEvent(event: event, process: table.apply(event, exec: snapshot, exitName: nil),
                                     previous: previous)
            }
            let read = index.flatMap { execReads[$0] }
            // Gone before /proc could be read, or exited within the batch: its exit record
            // (queued before its exit event) names the program. Looked up, not taken: the
            // exit event takes it. A superseded exec stays blank: nothing describes it.
            let superseded = index.map { supersededExecs.contains($0) } ?? false
            let exitName = read == nil && !superseded ? pendingRecords[task.tid]?.record.name : nil
            if read == nil, !superseded, exitName == nil { missedName() }
            return EnrichedEvent(event: event, process: table.apply(event, exec: read, exitName: exitName), previous: previous)
        case .comm(let task, _), .uid(let task, _, _):
            let previous = table[task.pid]
            return EnrichedEvent(event: event, process: table.apply(event, exec: nil, exitName: nil), previous: previous)
        case .exit(let task, let waitStatus, _, let parent):
            if let usage = event.kernelDetails?.usage {
                // Taken in the kernel at the exit: no taskstats record is read or needed.
                let process = table.apply(event, exec: nil, exitName: nil)
                let record = TaskstatsRecord(exitOf: task, name: process?.name ?? "", parentPID: parent.pid,
                                             exitCode: waitStatus, usage: usage)
                return EnrichedEvent(event: event, process: process, exitRecord: record)
            }
            let record = exitRecord(of: task.tid) { [table] in table.lacksName(task.pid) }
            return EnrichedEvent(event: event, process: table.apply(event, exec: nil, exitName: record?.name),
                                 exitRecord: record)
        default:
            return EnrichedEvent(event: event, process: table.apply(event, exec: nil, exitName: nil))
        }
    }

    /// The name the kernel gives a process at exec: the last component of the path it was
    /// executed by, cut to 15 bytes (`__set_task_comm(me, kbasename(bprm->filename))`); for
    /// details that did not carry the name the kernel set.
    static func execName(_ path: String) -> String {
        let bytes = Array(path.utf8)
        let start = (bytes.lastIndex(of: UInt8(ascii: "/")) ?? -1) + 1
        return String(decoding: bytes[start...].prefix(15), as: UTF8.self)
    }

    /// Resolves the cgroup ids the kernel-side watchers take; made at the first such exec.
    private lazy var cgroupHierarchies = CgroupHierarchies()

    /// The attributed cgroup path of an exec the kernel-side watchers saw: the path of the
    /// cgroup they named (any hierarchy; resolved once per cgroup, so an exec in a known
    /// cgroup reads nothing), else that of the v2 id when not the root, else — the cgroup
    /// was removed before it could be resolved, or the host is one ``CgroupHierarchies``
    /// cannot follow — `/proc/PID/cgroup`'s. nil when nothing tells (the process is gone:
    /// it keeps what it inherited at fork).
    private func cgroupPath(of pid: Int32, _ details: ExecDetails) -> String? {
        if let cgroup = details.attributedCgroup, let path = cgroupHierarchies.path(of: cgroup) { return path }
        if let path = cgroupHierarchies.unifiedPath(of: details.cgroupID), path != "/" { return path }
        return files.cgroup(pid)
    }

    /// After every consumer had the event: an exited process leaves the table.
    func retire(_ event: ProcessEvent) { table.retire(event) }

    /// Deregisters from exit records. Called once, when the session ends.
    func close() { exitRecords?.close() }

    // MARK: Exit records

    private func drainExitRecords() {
        drainedThisBatch = true
        exitsSinceDrain = 0
        let overflowsBefore = exitRecords?.overflowCount ?? 0
        let droppedBefore = exitRecords?.lostRecords ?? 0
        exitRecords?.drain { record in
            // A process's total repeats its threads' figures: consumers sum the per-task ones.
            guard !record.isProcessTotal, record.id > 0 else { return }
            nextSerial += 1
            pendingRecords[record.id] = (record, nextSerial)
            pendingOrder.append((record.id, nextSerial))
        }
        if !recordsEveryExit, let exitRecords, exitRecords.overflowCount > overflowsBefore {
            droppedBeforeLastDrain = (droppedBeforeLastDrain ?? 0) + exitRecords.lostRecords - droppedBefore
        }
        if pendingOrder.count > 2 * pendingRecordLimit {
            // Keep the newest arrivals; older records belong to exit events that never came
            // (filtered out in the kernel, or lost).
            let dropped = pendingOrder.count - pendingRecordLimit
            for entry in pendingOrder.prefix(dropped) where pendingRecords[entry.tid]?.serial == entry.serial {
                pendingRecords[entry.tid] = nil
            }
            pendingOrder.removeFirst(dropped)
        }
    }

    /// The exit record of `tid` for its exit event. For names only, the records are read
    /// when the process is `unnamed` (its exec was not read), and the record is looked for
    /// only then.
    private func exitRecord(of tid: Int32, unnamed: () -> Bool) -> TaskstatsRecord? {
        guard exitRecords != nil else { return nil }
        if !recordsEveryExit {
            if !drainedThisBatch { exitsSinceDrain += 1 }
            let execsHappen = exitsSinceExec < Self.execWindow
            if execsHappen { exitsSinceExec += 1 }
            guard unnamed() else {
                if !drainedThisBatch, exitsSinceDrain >= Self.exitsPerDrain, execsHappen {
                    drainExitRecords()
                }
                // Named already: a record read with an earlier drain is of no use any more.
                return pendingRecords.removeValue(forKey: tid)?.record
            }
            if !drainedThisBatch { drainExitRecords() }
            guard let record = pendingRecords.removeValue(forKey: tid)?.record else {
                missedName()
                return nil
            }
            return record
        }
        // Its place in `pendingOrder` stays until the next trim: cheaper than a search.
        return pendingRecords.removeValue(forKey: tid)?.record
    }
}
