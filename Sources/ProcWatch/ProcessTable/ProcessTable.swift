#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The live processes of the host, kept current from the event stream.
///
/// Seeded from /proc; a forked child inherits its parent's name, command line, uid, cgroup
/// and ancestry at once; at exec the new command line, name, executable and cgroup replace them (read
/// from /proc by the ``EnrichmentStage`` before anything else of the batch, or here when
/// the table is fed by hand); `comm` and `uid` events update it; an exit stamps the end time
/// and the entry is removed by ``retire(_:)`` once the event was delivered. A fork of a pid
/// always starts a new record, so a reused pid is never confused with the old process;
/// entries whose exit was lost are swept when /proc no longer has them.
///
/// Feed it every event in kernel order (fork and exit at least), from one thread; the
/// event source's enrichment stage does that for every consumer that asks for
/// ``EnrichedEvent``s. Reading it is safe from any thread.
public final class ProcessTable: Sendable {
    private struct State {
        var records: [Int32: ProcessRecord] = [:]
        /// The kernel time of the latest event applied to each pid's record.
        var touched: [Int32: UInt64] = [:]
        var sweepDue = false
        var lastSweep: UInt64 = 0
    }

    private let state = Mutex(State())
    private let files: Mutex<any ProcFileSystem>
    /// CLOCK_MONOTONIC minus CLOCK_BOOTTIME at creation, to read /proc start times.
    private let bootToMonotonic: Int64

    /// Whether an exec reads the executable's path (`/proc/PID/exe`).
    let readsExecutables: Bool

    /// Creates a table, seeded from /proc unless `seed` is false. Without `executables`,
    /// an exec reads the command line and name only (one system call less per exec, for
    /// views that never show the executable's path).
    public convenience init(seed: Bool = true, executables: Bool = true) {
        self.init(seed: seed, executables: executables, files: ProcFS())
    }

    /// Creates a table reading `files` instead of /proc (tests play /proc with one).
    package init(seed: Bool, executables: Bool, files: any ProcFileSystem) {
        self.files = Mutex(files)
        self.readsExecutables = executables
        var boot = timespec()
        var monotonic = timespec()
        clock_gettime(CLOCK_BOOTTIME, &boot)
        clock_gettime(CLOCK_MONOTONIC, &monotonic)
        bootToMonotonic = (Int64(monotonic.tv_sec) - Int64(boot.tv_sec)) * 1_000_000_000
            + (Int64(monotonic.tv_nsec) - Int64(boot.tv_nsec))
        // The first periodic sweep is due 30 s from now, not at the first event: a sweep then
        // would drop the processes that event's batch is about when they have already exited
        // (a --tree of short-lived processes whose first events are all in one batch).
        let now = UInt64(monotonic.tv_sec) * 1_000_000_000 + UInt64(monotonic.tv_nsec)
        state.withLock { $0.lastSweep = now }
        if seed { self.seed() }
    }

    /// How many processes the table holds.
    public var count: Int { state.withLock { $0.records.count } }

    /// Every process the table holds now (in no particular order).
    public var records: [ProcessRecord] { state.withLock { Array($0.records.values) } }

    /// The record of a live (or just exited) process.
    public subscript(pid: Int32) -> ProcessRecord? { state.withLock { $0.records[pid] } }

    /// Whether the table lacks a process's name or command line (unknown counts as lacking):
    /// its exec could not be read, and only its exit record can still name it.
    func lacksName(_ pid: Int32) -> Bool {
        state.withLock { state in state.records[pid].map { $0.name.isEmpty || $0.commandLine.isEmpty } ?? true }
    }

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
    /// An exec's new program is read from /proc now.
    @discardableResult
    public func apply(_ event: ProcessEvent) -> ProcessRecord? {
        var exec: ExecSnapshot?
        if case .exec(let task) = event.detail {
            exec = files.withLock { $0.readExecs(of: [task.pid], executables: readsExecutables)[0] }
        }
        return apply(event, exec: exec, exitName: nil)
    }

    /// Applies an event with what was read ahead of it.
    ///
    /// - Parameters:
    ///   - exec: for an exec, what /proc showed right after it (nil: the process was gone).
    ///   - exitName: the task's name from its taskstats exit record, when one is queued —
    ///     for an exec whose process was already gone, and for an exit.
    func apply(_ event: ProcessEvent, exec: ExecSnapshot?, exitName: String?) -> ProcessRecord? {
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
                    if newer.cgroup == nil, let inherited { newer.inheritAttribution(from: inherited) }
                    // Its events so far carried the key it was given then: keep it.
                    if newer.key == nil { newer.key = ProcessKey(pid: child.pid, startNanoseconds: forkTime) }
                    state.records[child.pid] = newer
                    return newer
                }
                var record = ProcessRecord(
                    pid: child.pid, parentPID: parent.pid, name: inherited?.name ?? "",
                    commandLine: inherited?.commandLine ?? [], executable: inherited?.executable,
                    uid: inherited?.uid, effectiveUID: inherited?.effectiveUID, startNanoseconds: forkTime)
                record.key = ProcessKey(pid: child.pid, startNanoseconds: forkTime)
                // A child starts in its parent's cgroup: this is how a process that lives
                // for less than a millisecond is attributed, /proc or not.
                if let inherited { record.inheritAttribution(from: inherited) }
                state.records[child.pid] = record
                state.touched[child.pid] = forkTime
                return record
            }
        case .exec(let task):
            // Everything inherited at fork described the program before the exec: replace it
            // all, and leave blank what nothing could tell. Never keep the pre-exec name.
            // /proc/PID gone means the process has exited and been reaped: its exit record
            // (sent before its exit event) names the exec'd program.
            return update(task.pid, at: event) { record in
                record.commandLine = exec?.commandLine ?? []
                record.name = exec?.name ?? exitName ?? ""
                record.executable = exec?.executable
                // Unread (gone already): the cgroup inherited at fork still holds, since a
                // process moves only when something moves it.
                if let cgroup = exec?.cgroup { record.attribute(cgroup: cgroup) }
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
            guard !task.isThread else { return ensure(task.pid, at: event) }
            return update(task.pid, at: event) { record in
                record.endNanoseconds = event.timestamp.monotonicNanoseconds
                // The kernel's record carries the final name: it beats an empty name, and a
                // name inherited at fork when the exec could not be read.
                if let exitName, !exitName.isEmpty,
                   record.name.isEmpty || (record.commandLine.isEmpty && record.name != exitName) {
                    record.name = exitName
                }
            }
        case .ptrace(let task, let tracer) where tracer.pid != 0:
            return update(task.pid, at: event) { $0.lastTracerPID = tracer.pid }
        case .gid(let task, _, _), .sid(let task), .ptrace(let task, _), .coredump(let task, _),
             .execFailed(let task, _):
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
        let gone = files.withLock { files in pids.filter { files.status($0) == nil } }
        state.withLock { state in
            for pid in gone {
                state.records[pid] = nil
                state.touched[pid] = nil
            }
        }
    }

    // MARK: Internals

    private func seed() {
        let records: [ProcessRecord] = files.withLock { files in
            files.pids().compactMap { readRecord($0, from: files) }
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
        files.withLock { readRecord(pid, from: $0) }
    }

    private func readRecord(_ pid: Int32, from files: any ProcFileSystem) -> ProcessRecord? {
        guard var record = files.snapshot(pid) else { return nil }
        record.startNanoseconds = record.startNanoseconds.map { UInt64(clamping: Int64($0) + bootToMonotonic) }
        record.key = record.startNanoseconds.map { ProcessKey(pid: pid, startNanoseconds: $0) }
        return record
    }
}
