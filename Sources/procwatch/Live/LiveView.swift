#if canImport(Glibc)
import Glibc
#endif
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
        guard event.kind == nil || selection.shows(event) else { return }
        var observed = ObservedEvent(event: event, process: process, previousName: previousName)
        guard filter.matches(observed) else { return }
        if ancestry, let pid = event.subject?.pid { observed.ancestors = table.ancestors(of: pid) }
        counted.withLock { $0.count(observed) }
        switch format {
        case .text(let renderer): output.write(renderer.render(observed))
        case .json(let renderer): output.write(renderer.render(observed))
        case .quiet: break
        }
    }
}

/// Standard output, one `write(2)` per line: line-buffered whether a terminal or a pipe,
/// so nothing waits in a buffer when the process stops.
final class LineOutput: @unchecked Sendable {
    private let descriptor: Int32
    private(set) var failed = false

    init(descriptor: Int32 = 1) { self.descriptor = descriptor }

    func write(_ line: String) {
        guard !failed else { return }
        var text = line
        text.append("\n")
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failed = true  // EPIPE with SIGPIPE ignored: stop writing, the run ends
                    return
                }
                offset += written
            }
        }
    }
}
