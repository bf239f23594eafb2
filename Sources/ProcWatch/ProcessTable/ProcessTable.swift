#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The live processes of the host, kept current from the event stream.
///
/// Seeded from /proc; a forked child inherits its parent's name, command line, uid and
/// ancestry at once; at exec the new command line, name and executable are read from
/// /proc immediately; `comm` and `uid` events update it; an exit stamps the end time and
/// the entry is removed by ``retire(_:)`` once the event was delivered. A fork of a pid
/// always starts a new record, so a reused pid is never confused with the old process;
/// entries whose exit was lost are swept when /proc no longer has them.
///
/// Feed it every event in kernel order (fork and exit at least), from one thread.
public final class ProcessTable: Sendable {
    private struct State {
        var records: [Int32: ProcessRecord] = [:]
        /// The kernel time of the latest event applied to each pid's record.
        var touched: [Int32: UInt64] = [:]
        var sweepDue = false
        var lastSweep: UInt64 = 0
        var exitsSinceDrain = 0
    }

    private let state = Mutex(State())
    private let procfs = Mutex(ProcFS())
    /// CLOCK_MONOTONIC minus CLOCK_BOOTTIME at creation, to read /proc start times.
    private let bootToMonotonic: Int64

    /// Exit records that name processes too short-lived for /proc (root only).
    private let exitNames: TaskstatsListener?
    /// Receives every exit record read, when the owner accounts for them (the socket is
    /// then read before every exit event, so each exit's record is in before its event).
    private let onExitRecord: (@Sendable (TaskstatsRecord) -> Void)?
    /// Names from exit records not yet matched to an exit event, oldest first (bounded).
    private let recentExitNames = Mutex<(names: [Int32: String], order: [Int32])>(([:], []))

    /// Whether an exec reads the executable's path (`/proc/PID/exe`).
    private let readsExecutables: Bool

    /// Creates a table, seeded from /proc unless `seed` is false. With `exitNames`, a
    /// process that exited before /proc could be read is named from its taskstats exit record.
    /// Without `executables`, an exec reads the command line and name only (one system
    /// call less per exec, for views that never show the executable's path).
    ///
    /// With `onExitRecord`, every record read from `exitNames` is also handed over (on the
    /// thread that applies events), and the socket is read before each exit event is
    /// applied: the table is then the one reader of that socket, and an owner that accounts
    /// for exits gets each record before the exit event it belongs to.
    public init(seed: Bool = true, exitNames: TaskstatsListener? = nil, executables: Bool = true,
                onExitRecord: (@Sendable (TaskstatsRecord) -> Void)? = nil) {
        self.exitNames = exitNames
        self.onExitRecord = onExitRecord
        self.readsExecutables = executables
        var boot = timespec()
        var monotonic = timespec()
        clock_gettime(CLOCK_BOOTTIME, &boot)
        clock_gettime(CLOCK_MONOTONIC, &monotonic)
        bootToMonotonic = (Int64(monotonic.tv_sec) - Int64(boot.tv_sec)) * 1_000_000_000
            + (Int64(monotonic.tv_nsec) - Int64(boot.tv_nsec))
        if seed { self.seed() }
    }

    /// How many processes the table holds.
    public var count: Int { state.withLock { $0.records.count } }

    /// Every process the table holds now (in no particular order).
    public var records: [ProcessRecord] { state.withLock { Array($0.records.values) } }

    /// The record of a live (or just exited) process.
    public subscript(pid: Int32) -> ProcessRecord? { state.withLock { $0.records[pid] } }

    /// The chain of known ancestors of `pid`, nearest first (at most 64).
    public func ancestors(of pid: Int32) -> [ProcessRecord] {
        state.withLock { state in
            var chain: [ProcessRecord] = []
            var seen: Set<Int32> = [pid]
            var current = state.records[pid]?.parentPID ?? 0
            while current > 0, chain.count < 64, seen.insert(current).inserted, let record = state.records[current] {
                chain.append(record)
                current = record.parentPID
            }
            return chain
        }
    }

    /// Applies an event; returns the subject process's record as it stands after it.
    @discardableResult
    public func apply(_ event: ProcessEvent) -> ProcessRecord? {
        switch event.detail {
        case .fork(let parent, let child):
            if child.isThread { return ensure(child.pid, at: event) }
            let inherited = ensure(parent.pid, at: event)
            let forkTime = event.timestamp.monotonicNanoseconds
            return state.withLock { state in
                // The child can run, exec and even exit on another CPU before the parent's
                // fork event is queued: then its record is already newer than this fork.
                if var newer = state.records[child.pid], let touched = state.touched[child.pid], touched > forkTime {
                    newer.parentPID = parent.pid
                    newer.startNanoseconds = forkTime
                    if newer.uid == nil { newer.uid = inherited?.uid }
                    if newer.effectiveUID == nil { newer.effectiveUID = inherited?.effectiveUID }
                    state.records[child.pid] = newer
                    return newer
                }
                let record = ProcessRecord(
                    pid: child.pid, parentPID: parent.pid, name: inherited?.name ?? "",
                    commandLine: inherited?.commandLine ?? [], executable: inherited?.executable,
                    uid: inherited?.uid, effectiveUID: inherited?.effectiveUID, startNanoseconds: forkTime)
                state.records[child.pid] = record
                state.touched[child.pid] = forkTime
                return record
            }
        case .exec(let task):
            let (commandLine, name, executable) = procfs.withLock { $0.afterExec(task.pid, executable: readsExecutables) }
            // /proc/PID gone means the process has exited and been reaped: its exit record
            // (sent before its exit event) is already queued and names the exec'd program.
            // Looked up, not taken: its exit event takes it.
            let goneName = name == nil ? queuedExitName(of: task.pid) : nil
            // Everything inherited at fork described the program before the exec: replace it
            // all, and leave blank what nothing could tell. Never keep the pre-exec name.
            return update(task.pid, at: event) { record in
                record.commandLine = commandLine ?? []
                record.name = name ?? goneName ?? ""
                record.executable = executable
            }
        case .comm(let task, let name):
            guard !task.isThread else { return ensure(task.pid, at: event) }
            return update(task.pid, at: event) { $0.name = name }
        case .uid(let task, let real, let effective):
            return update(task.pid, at: event) { record in
                record.uid = real
                record.effectiveUID = effective
            }
        case .exit(let task, _, _, _):
            guard !task.isThread else {
                // A thread's exit sends a record too: count it, so the socket is read as often.
                if let exitNames, onExitRecord != nil || countExitDue() { drainExitNames(exitNames) }
                // Its record names a thread: a process that later gets this id must not find it.
                if exitNames != nil { recentExitNames.withLock { _ = $0.names.removeValue(forKey: task.tid) } }
                return ensure(task.pid, at: event)
            }
            let needed = state.withLock { state in
                state.records[task.pid].map { $0.name.isEmpty || $0.commandLine.isEmpty } ?? true
            }
            let lateName = exitName(of: task.pid, needed: needed)
            return update(task.pid, at: event) { record in
                record.endNanoseconds = event.timestamp.monotonicNanoseconds
                // The kernel's record carries the final name: it beats an empty name, and a
                // name inherited at fork when the exec could not be read.
                if let lateName, record.name.isEmpty || (record.commandLine.isEmpty && record.name != lateName) {
                    record.name = lateName
                }
            }
        case .ptrace(let task, let tracer) where tracer.pid != 0:
            return update(task.pid, at: event) { $0.lastTracerPID = tracer.pid }
        case .gid(let task, _, _), .sid(let task), .ptrace(let task, _), .coredump(let task, _):
            return ensure(task.pid, at: event)
        case .lost:
            state.withLock { $0.sweepDue = true }
            return nil
        case .unknown:
            return nil
        }
    }

    /// Removes a process whose exit event was delivered; sweeps dead entries when due.
    public func retire(_ event: ProcessEvent) {
        let now = event.timestamp.monotonicNanoseconds
        let due = state.withLock { state -> Bool in
            if case .exit(let task, _, _, _) = event.detail, !task.isThread,
               state.records[task.pid]?.endNanoseconds != nil {
                state.records[task.pid] = nil
                state.touched[task.pid] = nil
            }
            // After a loss (an exit may be among the missing) or every 30 s.
            // Out-of-order events (other CPUs) must not look like a long wait: no backwards subtraction.
            guard state.sweepDue || (now > state.lastSweep && now - state.lastSweep > 30_000_000_000) else { return false }
            state.sweepDue = false
            state.lastSweep = Swift.max(state.lastSweep, now)
            return true
        }
        if due { sweep() }
    }

    /// Drops entries whose process no longer exists (their exit was lost).
    public func sweep() {
        let pids = state.withLock { Array($0.records.keys) }
        let gone = procfs.withLock { procfs in pids.filter { procfs.status($0) == nil } }
        state.withLock { state in
            for pid in gone {
                state.records[pid] = nil
                state.touched[pid] = nil
            }
        }
    }

    // MARK: Internals

    /// The name in `pid`'s taskstats exit record (sent before the exit event, so queued).
    ///
    /// The socket is read only when a name is `needed` (the exec could not be read) or
    /// every `exitsPerDrain` exits of processes and threads (one read then takes many
    /// records, and the socket's queue stays far below its limit). A needed name is looked
    /// up only after a read: the fresh record then replaces any older one filed under the
    /// same pid by an earlier read.
    private func exitName(of pid: Int32, needed: Bool) -> String? {
        guard let exitNames else { return nil }
        if needed || onExitRecord != nil || countExitDue() { drainExitNames(exitNames) }
        // The pid's entry goes either way: a later process with the same pid must not find it.
        let name = recentExitNames.withLock { $0.names.removeValue(forKey: pid) }
        return needed ? name : nil
    }

    /// The name in the queued exit record of `pid`, which has exited (read now; kept for its exit event).
    private func queuedExitName(of pid: Int32) -> String? {
        guard let exitNames else { return nil }
        drainExitNames(exitNames)
        return recentExitNames.withLock { $0.names[pid] }
    }

    /// Counts an exit (of a process or a thread); true when a periodic read is due.
    private func countExitDue() -> Bool {
        state.withLock { state in
            state.exitsSinceDrain += 1
            guard state.exitsSinceDrain >= Self.exitsPerDrain else { return false }
            state.exitsSinceDrain = 0
            return true
        }
    }

    private func drainExitNames(_ exitNames: TaskstatsListener) {
        exitNames.drain { record in
            onExitRecord?(record)
            guard !record.isProcessTotal, record.id > 0 else { return }
            recentExitNames.withLock { recent in
                if recent.names.updateValue(record.name, forKey: record.id) == nil { recent.order.append(record.id) }
                if recent.order.count > 8192 {
                    for old in recent.order.prefix(4096) { recent.names[old] = nil }
                    recent.order.removeFirst(4096)
                }
            }
        }
    }

    private static let exitsPerDrain = 32

    private func seed() {
        let records: [ProcessRecord] = procfs.withLock { procfs in
            procfs.pids().compactMap { readRecord($0, from: procfs) }
        }
        state.withLock { state in for record in records { state.records[record.pid] = record } }
    }

    /// The record of `pid`, read from /proc when the table does not know it yet.
    private func ensure(_ pid: Int32, at event: ProcessEvent) -> ProcessRecord? {
        if let record = state.withLock({ $0.records[pid] }) { return record }
        guard let record = readRecord(pid) else { return nil }
        state.withLock { $0.records[pid] = record }
        return record
    }

    private func update(_ pid: Int32, at event: ProcessEvent, _ change: (inout ProcessRecord) -> Void) -> ProcessRecord? {
        let time = event.timestamp.monotonicNanoseconds
        // Known (the usual case): changed in place, under one lock, without copying it out first.
        let updated = state.withLock { state -> ProcessRecord? in
            guard state.records[pid] != nil else { return nil }
            change(&state.records[pid]!)
            if time > state.touched[pid] ?? 0 { state.touched[pid] = time }
            return state.records[pid]
        }
        if let updated { return updated }
        var record = ensure(pid, at: event) ?? ProcessRecord(pid: pid, parentPID: 0, name: "")
        change(&record)
        state.withLock { state in
            state.records[pid] = record
            state.touched[pid] = Swift.max(state.touched[pid] ?? 0, event.timestamp.monotonicNanoseconds)
        }
        return record
    }

    private func readRecord(_ pid: Int32) -> ProcessRecord? {
        procfs.withLock { readRecord(pid, from: $0) }
    }

    private func readRecord(_ pid: Int32, from procfs: ProcFS) -> ProcessRecord? {
        guard let status = procfs.status(pid) else { return nil }
        let ids = procfs.uids(pid)
        return ProcessRecord(
            pid: pid, parentPID: status.parent, name: procfs.name(pid) ?? "",
            commandLine: procfs.commandLine(pid) ?? [], executable: procfs.executable(pid), uid: ids?.real,
            effectiveUID: ids?.effective, startNanoseconds: UInt64(clamping: Int64(status.startSinceBoot) + bootToMonotonic))
    }
}
