#if canImport(Glibc)
import Glibc
#endif
import OutputBytes
import ProcWatch
import Synchronization

/// The live view's pipeline, run on the event source's reader thread for every event:
/// process table → filters → statistics → text or JSON line.
final class LiveView: @unchecked Sendable {
    // @unchecked: `handle` runs only on the reader thread; `finish` runs after the watchers
    // stopped (stop waits for the reader), so the two never overlap.
    enum Format { case text(TextRenderer), json(JSONRenderer), quiet }

    private let table: ProcessTable
    private let selection: EventSelection
    private var filter: LiveFilter
    private let format: Format
    private let ancestry: Bool
    private let output: LineOutput
    private let counted = Mutex(Statistics())

    /// The counts so far (safe to read from another thread while events arrive).
    var statistics: Statistics { counted.withLock { $0 } }

    init(table: ProcessTable, selection: EventSelection, filter: LiveFilter, format: Format, ancestry: Bool, output: LineOutput) {
        self.table = table
        self.selection = selection
        self.filter = filter
        self.format = format
        self.ancestry = ancestry
        self.output = output
    }

    /// Exec lines of processes that were gone before /proc could be read, held until their
    /// exit names them (the exit event is already queued when that happens).
    private var unnamedExecs: [Int32: (event: ProcessEvent, previousName: String?)] = [:]
    private var oldestHeld: UInt64?

    func handle(_ event: ProcessEvent) {
        filter.admit(event)
        var previousName: String?
        switch event.detail {
        case .comm(let task, _), .exec(let task): previousName = table[task.pid]?.name
        default: break
        }
        let process = table.apply(event)
        defer {
            table.retire(event)
            filter.retire(event)
        }
        // Held lines whose exit did not follow within 200 ms (say /proc is hidden from us)
        // are shown as they are.
        // (Events from different CPUs can arrive slightly out of order: never subtract backwards.)
        let now = event.timestamp.monotonicNanoseconds
        if let oldest = oldestHeld, now > oldest, now - oldest > 200_000_000 {
            flushUnnamedExecs(olderThan: now - 200_000_000)
        }
        if case .exec(let task) = event.detail, process?.name.isEmpty ?? true {
            // A second exec of the same process while the first is held: show the first now.
            if let earlier = unnamedExecs[task.pid] {
                show(earlier.event, process: process, previousName: earlier.previousName)
            }
            unnamedExecs[task.pid] = (event, previousName)
            oldestHeld = Swift.min(oldestHeld ?? .max, event.timestamp.monotonicNanoseconds)
            if unnamedExecs.count > 4096 { flushUnnamedExecs() }
            return
        }
        if case .exit(let task, _, _, _) = event.detail, !task.isThread, let held = unnamedExecs.removeValue(forKey: task.pid) {
            show(held.event, process: process.map(Self.atExec), previousName: held.previousName)
        }
        show(event, process: process, previousName: previousName)
    }

    /// Shows held exec lines as they are: all of them at the end of a run or if too many
    /// pile up, or those older than a kernel time.
    func flushUnnamedExecs(olderThan limit: UInt64 = .max) {
        let held = unnamedExecs.values.filter { $0.event.timestamp.monotonicNanoseconds <= limit }
            .sorted { $0.event.timestamp < $1.event.timestamp }
        for entry in held { if let pid = entry.event.subject?.pid { unnamedExecs[pid] = nil } }
        oldestHeld = unnamedExecs.values.map(\.event.timestamp.monotonicNanoseconds).min()
        for (event, previousName) in held {
            show(event, process: event.subject.flatMap { table[$0.pid] }, previousName: previousName)
        }
    }

    /// The record as it stood at exec: named, but not yet ended.
    private static func atExec(_ record: ProcessRecord) -> ProcessRecord {
        var record = record
        record.endNanoseconds = nil
        return record
    }

    private func show(_ event: ProcessEvent, process: ProcessRecord?, previousName: String?) {
        guard event.kind == nil || selection.shows(event) else { return }
        var observed = ObservedEvent(event: event, process: process, previousName: previousName)
        guard filter.matches(observed) else { return }
        if ancestry, let pid = event.subject?.pid { observed.ancestors = table.ancestors(of: pid) }
        counted.withLock { $0.count(observed) }
        switch format {
        case .text(let renderer): output.writeLine { renderer.render(observed, into: &$0) }
        case .json(let renderer): output.writeLine { renderer.render(observed, into: &$0) }
        case .quiet: break
        }
    }
}

/// Standard output (or another descriptor), written whole even after short writes.
///
/// Buffered (the event view): lines collect in memory and go out in one `write` when the
/// reader finishes a kernel batch (``flush()``), or when 64 KiB piled up; so output follows
/// the events as closely as the reader does, but costs one syscall per batch rather than
/// per line. Unbuffered: each line at once. The buffer is behind a lock (uncontended on the
/// reader thread: a few nanoseconds), because the header and `stats` ticks are written
/// from other threads.
package final class LineOutput: Sendable {
    private let descriptor: Int32
    private let buffered: Bool
    private let state: Mutex<(pending: [UInt8], failed: Bool)>

    package init(descriptor: Int32 = 1, buffered: Bool = false) {
        self.descriptor = descriptor
        self.buffered = buffered
        var pending: [UInt8] = []
        if buffered { pending.reserveCapacity(Self.flushThreshold + 4096) }
        state = Mutex((pending, false))
    }

    private static let flushThreshold = 64 * 1024

    /// Whether a write failed (e.g. EPIPE where SIGPIPE is ignored); nothing is written after.
    package var failed: Bool { state.withLock { $0.failed } }

    package func write(_ line: String) {
        writeLine { $0.append(utf8: line) }
    }

    /// Appends one line that `body` writes as bytes, then its newline.
    func writeLine(_ body: (inout [UInt8]) -> Void) {
        state.withLock { state in
            guard !state.failed else { return }
            body(&state.pending)
            state.pending.append(UInt8(ascii: "\n"))
            if !buffered || state.pending.count >= Self.flushThreshold { writeOut(&state) }
        }
    }

    /// Writes what is buffered.
    package func flush() {
        state.withLock { writeOut(&$0) }
    }

    private func writeOut(_ state: inout (pending: [UInt8], failed: Bool)) {
        defer { state.pending.removeAll(keepingCapacity: true) }
        guard !state.failed, !state.pending.isEmpty else { return }
        let failed = state.pending.withUnsafeBufferPointer { bytes -> Bool in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return true  // e.g. EPIPE where SIGPIPE is ignored: stop writing
                }
                offset += written
            }
            return false
        }
        if failed { state.failed = true }
    }
}
