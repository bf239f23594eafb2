/// Turns successive scans of /proc into the event contract's events, where no kernel
/// source works (a user namespace): a process seen for the first time is a `fork` (and an
/// `exec` when it runs another program than its parent), a changed command line an `exec`,
/// a name changed under the same command line a `comm`, a zombie
/// or a vanished process an `exit`. Every event carries ``EventOrigin/procfs``.
///
/// What it cannot know it leaves out rather than makes up: a process that started and
/// ended between two scans is never seen — it is counted in a `lost` event instead, exactly
/// where the pid namespace's last allocated pid tells which numbers were handed out
/// meanwhile (pids are handed out in increasing order until they wrap at `pid_max`); an
/// exit's status is known only when a scan saw the zombie (`exit_code` in its stat line),
/// else the exit carries none; an exec that keeps the program's name is seen only within
/// ``execWatch`` of a fork that ran its parent's program (its command line is read again at
/// each scan until then: a shell's child that execs another shell).
///
/// Used from one thread (the scanner session's reader).
struct ProcScanner {
    private struct Known {
        var start: UInt64
        var parent: Int32
        var name: String
        var commandLine: [String]
        /// The exit was reported (seen as a zombie): not again when it vanishes.
        var exited = false
        /// Until when (CLOCK_MONOTONIC) a fork that runs its parent's program has its command
        /// line read at each scan, to see an exec that keeps the name.
        var watchedUntil: UInt64 = 0
    }

    /// How long a fork that still runs its parent's program is watched for an exec that keeps the name.
    static let execWatch: UInt64 = 2_000_000_000

    private let files: any ProcScanFiles
    private var known: [Int32: Known] = [:]
    /// ns_last_pid at the previous scan; nil before the first, or where it cannot be read.
    private var lastPID: Int32?
    /// Numbers above ``lastPID`` that a scan already saw (listed after ns_last_pid was read).
    private var seenAbove: Set<Int32> = []
    private var hasBaseline = false

    init(files: any ProcScanFiles) {
        self.files = files
    }

    /// What one scan found: the events in order, and the adopter's zombie children whose
    /// status is now recorded (the caller reaps them: an orphan has nobody else to).
    struct Outcome {
        var events: [ProcessEvent] = []
        var reapable: [Int32] = []
    }

    /// Scans /proc once. The first scan only learns what runs (no events: those processes
    /// started before procwatch). `bootOffset`: CLOCK_BOOTTIME minus CLOCK_MONOTONIC, to
    /// give a fork the time its process started; `adopter`: procwatch's own pid, whose
    /// zombie children (adopted orphans, or its own command) are handed back for reaping.
    mutating func scan(now: EventTimestamp, bootOffset: UInt64, adopter: Int32? = nil) -> Outcome {
        var outcome = Outcome()
        let allocated = files.lastAllocatedPID()
        let listed = files.pids()
        var present = Set<Int32>()
        present.reserveCapacity(listed.count)
        var fresh: [(pid: Int32, stat: ScannedStat)] = []
        for pid in listed {
            guard let stat = files.scanStat(pid) else { continue }
            present.insert(pid)
            if var entry = known[pid] {
                if entry.start == stat.startSinceBoot {
                    entry.parent = stat.parent
                    if !entry.exited, stat.state != UInt8(ascii: "Z") {
                        let watched = now.monotonicNanoseconds < entry.watchedUntil
                        let renamed = stat.name != entry.name
                        let line = renamed || watched ? commandLine(pid) : nil
                        let task = TaskID(pid: pid, tid: pid)
                        if line.map({ !$0.isEmpty && $0 != entry.commandLine }) ?? false {
                            entry.name = stat.name
                            entry.commandLine = line ?? entry.commandLine
                            entry.watchedUntil = 0
                            outcome.events.append(event(.exec(task), now))
                        } else if renamed {
                            // The same command line under another name: prctl(PR_SET_NAME) or a
                            // kernel thread's (a kworker's) new work, which the connector
                            // reports as comm too.
                            entry.name = stat.name
                            outcome.events.append(event(.comm(task, name: stat.name), now))
                        }
                    }
                    known[pid] = entry
                    if stat.state == UInt8(ascii: "Z") { exited(pid, stat, now, adopter: adopter, into: &outcome) }
                    continue
                }
                // The pid was reused: the process we knew is gone.
                vanished(pid, now, into: &outcome)
            }
            fresh.append((pid, stat))
        }
        for (pid, entry) in known where !present.contains(pid) {
            if !entry.exited { vanished(pid, now, into: &outcome) } else { known[pid] = nil }
        }
        // Parents before children: in start order.
        fresh.sort { ($0.stat.startSinceBoot, $0.pid) < ($1.stat.startSinceBoot, $1.pid) }
        let commandLines = files.readExecs(of: fresh.map(\.pid), executables: false)
        for (index, (pid, stat)) in fresh.enumerated() {
            let line = commandLines[index]?.commandLine ?? []
            let parent = known[stat.parent]
            known[pid] = Known(start: stat.startSinceBoot, parent: stat.parent, name: stat.name, commandLine: line)
            guard hasBaseline else { continue }
            let started = stat.startSinceBoot >= bootOffset ? stat.startSinceBoot - bootOffset : now.monotonicNanoseconds
            let startTime = EventTimestamp(monotonicNanoseconds: started,
                                           unixNanoseconds: now.unixNanoseconds - Int64(now.monotonicNanoseconds) + Int64(started))
            let child = TaskID(pid: pid, tid: pid)
            outcome.events.append(event(.fork(parent: TaskID(pid: stat.parent, tid: stat.parent), child: child), startTime))
            // A program of its own: not what its parent runs (or its parent is unknown).
            if parent == nil || parent?.name != stat.name || parent?.commandLine != line {
                outcome.events.append(event(.exec(child), now))
            } else {
                known[pid]?.watchedUntil = now.monotonicNanoseconds + Self.execWatch
            }
            if stat.state == UInt8(ascii: "Z") { exited(pid, stat, now, adopter: adopter, into: &outcome) }
        }
        if let count = missed(allocated: allocated, present: present) {
            outcome.events.append(event(.lost(count: count, reason: .scanGap, cpu: nil), now))
        }
        hasBaseline = true
        return outcome
    }

    /// Tasks handed a pid number since the last scan that no scan saw (0: none), nil
    /// where the count is unknown but some were missed (the numbers wrapped). No event
    /// when nothing can be missing.
    private mutating func missed(allocated: Int32?, present: Set<Int32>) -> Int?? {
        defer {
            if let allocated {
                seenAbove = present.filter { $0 > allocated }
                lastPID = allocated
            }
        }
        guard hasBaseline, let allocated, let previous = lastPID, allocated != previous else { return nil }
        // Wrapped past pid_max: which numbers were handed out is unknown.
        guard allocated > previous else { return .some(nil) }
        var count = 0
        for number in (previous + 1)...allocated
        where !present.contains(number) && !seenAbove.contains(number) && !files.taskExists(number) {
            count += 1
        }
        return count > 0 ? .some(count) : nil
    }

    private mutating func exited(_ pid: Int32, _ stat: ScannedStat, _ now: EventTimestamp, adopter: Int32?,
                                 into outcome: inout Outcome) {
        guard var entry = known[pid], !entry.exited else { return }
        entry.exited = true
        known[pid] = entry
        let task = TaskID(pid: pid, tid: pid)
        let parent = TaskID(pid: stat.parent, tid: stat.parent)
        outcome.events.append(ProcessEvent(
            detail: .exit(task, waitStatus: stat.exitCode ?? 0, exitSignal: 17, parent: parent), timestamp: now,
            origin: .procfs, isExitStatusKnown: stat.exitCode != nil))
        if let adopter, stat.parent == adopter { outcome.reapable.append(pid) }
    }

    /// A process gone without a zombie seen: its exit, with no status.
    private mutating func vanished(_ pid: Int32, _ now: EventTimestamp, into outcome: inout Outcome) {
        guard let entry = known.removeValue(forKey: pid), !entry.exited else { return }
        let task = TaskID(pid: pid, tid: pid)
        outcome.events.append(ProcessEvent(
            detail: .exit(task, waitStatus: 0, exitSignal: 17, parent: TaskID(pid: entry.parent, tid: entry.parent)),
            timestamp: now, origin: .procfs, isExitStatusKnown: false))
    }

    private func commandLine(_ pid: Int32) -> [String]? {
        files.readExecs(of: [pid], executables: false).first??.commandLine
    }

    private func event(_ detail: ProcessEvent.Detail, _ time: EventTimestamp) -> ProcessEvent {
        ProcessEvent(detail: detail, timestamp: time, origin: .procfs)
    }
}
