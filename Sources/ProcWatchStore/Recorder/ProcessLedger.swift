import ProcWatch

/// The `processes` rows of the live processes, updated from each recorded event, and the
/// rows changed since the last flush.
///
/// A fork always starts a new row, so a reused pid never continues an old process's row;
/// a process first seen by another event (it was running before the recording) gets a row
/// then, with `forked` false.
package struct ProcessLedger: Sendable {
    private var live: [Int32: ProcessRow] = [:]
    /// Rows changed since the last ``takeChanges()``: live ones by pid, ended ones whole.
    private var changedLive: Set<Int32> = []
    private var ended: [ProcessRow] = []
    private var nextID: Int64

    /// A ledger whose first row gets id `firstID`.
    package init(firstID: Int64) { nextID = firstID }

    /// Applies an event; returns the row id of its subject process (nil for `lost`).
    package mutating func apply(_ enriched: EnrichedEvent) -> Int64? {
        let (event, process) = (enriched.event, enriched.process)
        switch event.detail {
        case .fork(_, let child) where child.isThread:
            return update(child.pid, event, process) { $0.threads += 1 }
        case .fork(let parent, let child):
            if let previous = live.removeValue(forKey: child.pid) { retire(previous) }  // its exit was lost
            var row = ProcessRow(id: nextID, pid: child.pid, ppid: parent.pid, parent: live[parent.pid]?.id, forked: true,
                                 firstSeen: event.timestamp, start: event.timestamp.monotonicNanoseconds)
            nextID += 1
            row.adopt(process)
            live[child.pid] = row
            changedLive.insert(child.pid)
            return row.id
        case .exec(let task):
            return update(task.pid, event, process) { row in
                // All that was inherited at fork described the program before the exec: what
                // /proc could no longer tell stays blank (the exit record names it later).
                row.commandLine = process?.commandLine ?? []
                row.comm = process?.name ?? ""
                row.executable = process?.executable
                if let uid = process?.uid { row.uid = uid }
                row.adoptAttribution(process)
                row.execs.append(row.commandLine)
            }
        case .comm(let task, let name):
            return update(task.pid, event, process) { $0.comm = name }
        case .uid(let task, let real, let effective):
            return update(task.pid, event, process) { row in
                row.uid = real
                row.uidChanges.append([event.timestamp.monotonicNanoseconds, UInt64(real), UInt64(effective)])
            }
        case .exit(let task, let waitStatus, _, _):
            let record = enriched.exitRecord
            let id = update(task.pid, event, process) { row in
                if let record {
                    row.usage.add(record)
                    if row.comm.isEmpty { row.comm = record.name }  // gone before /proc could be read
                }
                guard !task.isThread else { return }
                row.end = event.timestamp.monotonicNanoseconds
                row.waitStatus = waitStatus
            }
            if !task.isThread, let row = live.removeValue(forKey: task.pid) {
                changedLive.remove(task.pid)
                retire(row)
            }
            return id
        case .lost, .unknown:
            return nil
        case .gid(let task, _, _), .sid(let task), .ptrace(let task, _), .coredump(let task, _),
             .execFailed(let task, _):
            return update(task.pid, event, process) { _ in }
        }
    }

    /// Applies an event the filters did not select, only to a process that already has a
    /// row: the filters decide which processes get rows, but a process that has one keeps
    /// getting its exec, name, uid, threads and exit (a `--pid` child's own events do not
    /// name the filtered pid, yet its row must end). Events of other processes are dropped.
    package mutating func follow(_ enriched: EnrichedEvent) {
        let event = enriched.event
        guard let subject = event.subject, live[subject.pid] != nil else { return }
        if case .fork(_, let child) = event.detail, !child.isThread {
            // An unselected process reuses the pid: the row's exit was lost; start no new row.
            if let previous = live.removeValue(forKey: child.pid) { retire(previous) }
            changedLive.remove(child.pid)
            return
        }
        _ = apply(enriched)
    }

    /// The rows changed since the last call, in id order (parents before children).
    package mutating func takeChanges() -> [ProcessRow] {
        var rows = ended
        rows.append(contentsOf: changedLive.compactMap { live[$0] })
        ended.removeAll(keepingCapacity: true)
        changedLive.removeAll(keepingCapacity: true)
        return rows.sorted { $0.id < $1.id }
    }

    private mutating func retire(_ row: ProcessRow) { ended.append(row) }

    /// Changes the subject's row, creating it for a process running since before the recording.
    ///
    /// The row is changed in place in the dictionary: a copy taken out and put back would
    /// copy its `execs` and `uid_changes` arrays on every change.
    private mutating func update(_ pid: Int32, _ event: ProcessEvent, _ process: ProcessRecord?,
                                 _ change: (inout ProcessRow) -> Void) -> Int64 {
        changedLive.insert(pid)
        if let index = live.index(forKey: pid) {
            // Another process under the same pid (its fork and the old one's exit were
            // lost): the keys tell them apart, and the old row ends.
            if let key = process?.key, let rowKey = live.values[index].key, key != rowKey {
                retire(live.remove(at: index).value)
            } else {
                change(&live.values[index])
                return live.values[index].id
            }
        }
        let ppid = process?.parentPID ?? 0
        var row = ProcessRow(id: nextID, pid: pid, ppid: ppid, parent: live[ppid]?.id, forked: false,
                             firstSeen: event.timestamp, start: process?.startNanoseconds)
        nextID += 1
        row.adopt(process)
        change(&row)
        live[pid] = row
        return row.id
    }
}
