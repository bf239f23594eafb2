#if canImport(Glibc)
import Glibc
#endif
import OutputBytes
import ProcWatch
import Synchronization

/// The live view: what it does with each enriched event, on the event source's reader
/// thread: filters → statistics → text or JSON line.
final class LiveView: @unchecked Sendable {
    // @unchecked: `handle` runs only on the reader thread; `finish` runs after the watchers
    // stopped (stop waits for the reader), so the two never overlap.
    enum Format { case text(TextRenderer), json(JSONRenderer), quiet }

    private let source: ProcessEventSource
    private let selection: EventSelection
    private var filter: LiveFilter
    private let format: Format
    private let ancestry: Bool
    private let output: LineOutput
    private let counted = Mutex(Statistics())

    /// The counts so far (safe to read from another thread while events arrive).
    var statistics: Statistics { counted.withLock { $0 } }

    /// When the watch started (the subscription in place) and ended, CLOCK_MONOTONIC ns.
    private let span = Mutex<(start: UInt64?, end: UInt64?)>((nil, nil))

    /// Marks the start of the run: rates are per second since then.
    func markStarted(at nanoseconds: UInt64 = Clocks.monotonicNanoseconds()) { span.withLock { $0.start = nanoseconds } }

    /// Marks the end of the run (the first mark counts: the stop, not the release after it).
    func markEnded(at nanoseconds: UInt64 = Clocks.monotonicNanoseconds()) { span.withLock { $0.end = $0.end ?? nanoseconds } }

    /// Seconds from the start of the run to its end, or to now while it runs (0 before it started).
    var runSeconds: Double {
        let (start, end) = span.withLock { ($0.start, $0.end) }
        guard let start else { return 0 }
        let stop = end ?? Clocks.monotonicNanoseconds()
        return stop > start ? Double(stop - start) / 1e9 : 0
    }

    /// The statistics table with rates per second of the run so far.
    func statisticsReport() -> String { statistics.report(seconds: runSeconds) }

    /// A view of the events of `source` (whose process table gives `--ancestry`).
    init(source: ProcessEventSource, selection: EventSelection, filter: LiveFilter, format: Format, ancestry: Bool, output: LineOutput) {
        self.source = source
        self.selection = selection
        self.filter = filter
        self.format = format
        self.ancestry = ancestry
        self.output = output
    }

    /// Through the daemon: it applied `--pid`, `--tree`, `--comm` and `--user` itself, to
    /// every event it had (this view gets only the events selected, not the forks a local
    /// `--tree` would follow children by), so only procwatch's own process is left out here.
    /// Called before the first event.
    func filtersInDaemon() {
        filter = filter.clientSide
    }

    func handle(_ enriched: EnrichedEvent) {
        let event = enriched.event
        filter.admit(event)
        defer { filter.retire(event) }
        guard event.kind == nil || selection.shows(event) else { return }
        guard filter.matches(enriched) else { return }
        var observed = ObservedEvent(event: event, process: enriched.process, previousName: enriched.previous?.name)
        if ancestry, let pid = event.subject?.pid { observed.ancestors = source.processTable?.ancestors(of: pid) ?? [] }
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
