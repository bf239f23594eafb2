import OutputBytes
import ProcWatch

/// The live view's lines: aligned columns, colour and glyphs on a terminal.
///
/// SPI (`Benchmarks`): public only so the micro-benchmarks can time it.
@_spi(Benchmarks) public struct TextRenderer {
    /// What the columns show.
    public struct Style {
        /// Which name to show: the command line (default), argv[0] only (`-s`), or comm (`-c`).
        enum Name { case commandLine, short, comm }
        var name: Name = .commandLine
        /// Strip the directory from argv[0] (`-d`).
        var stripDirectory = false
        /// UID, EUID and TTY columns (`-x`, as forkstat's).
        var extra = false
        /// The CONTAINER column (`-x`, `--container-column`).
        var container = false
        /// A glyph per event kind (`-g`).
        var glyphs = false
        /// ANSI colour (on a terminal).
        var colour = false
        /// The ancestor chain after the name (`--ancestry`).
        var ancestry = false
        /// Seconds east of UTC for the time column.
        var utcOffsetSeconds: Int64 = 0
        /// Lines longer than this are cut, ending in `…` (a terminal's width, or `--width`);
        /// nil: whole (piped output, `--no-truncate`).
        var width: LineWidth?

        /// The default: command lines, no colour, no glyphs, UTC.
        public init() {}
    }

    var style: Style

    /// A renderer with the given columns.
    public init(style: Style) { self.style = style }
    let names = AccountNames()
    let terminals = TerminalNames()

    /// The header line, cut to the width like every line.
    var header: String { LineWidth.fit(wholeHeader, columns: style.width?.current) }

    private var wholeHeader: String {
        var line = pad("TIME", 15) + " " + pad("EVENT", style.glyphs ? 10 : 8) + " " + left("PID", 7) + " " + left("PPID", 7)
        if style.extra { line += " " + pad("UID", 8) + " " + pad("EUID", 8) + " " + pad("TTY", 7) }
        if style.container { line += " " + pad("CONTAINER", Self.containerWidth) }
        return line + " " + pad("INFO", 24) + " " + left("DURATION", 9) + " PROCESS"
    }

    /// The line as a `String` (tests, one-off uses).
    func render(_ observed: ObservedEvent) -> String {
        var bytes: [UInt8] = []
        render(observed, into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the line (without its newline) to `out`, written as bytes: the hot kinds
    /// (fork, exec, exit) build no `String` at all.
    public func render(_ observed: ObservedEvent, into out: inout [UInt8]) {
        let event = observed.event
        let lineStart = out.count
        if style.colour {
            out.append(ascii: "\u{1B}[")
            out.append(ascii: Self.colourCode(event))
            out.append(UInt8(ascii: "m"))
        }
        let textStart = out.count
        let local = event.timestamp.unixNanoseconds + style.utcOffsetSeconds * 1_000_000_000
        let seconds = WallClock.floorDivide(local, 1_000_000_000)
        out.append(clockSecondOfDay: seconds - WallClock.floorDivide(seconds, 86_400) * 86_400,
                   micros: (local - seconds * 1_000_000_000) / 1000)
        out.append(Self.space)
        Self.leftAligned(&out, width: style.glyphs ? 10 : 8) { out in
            if style.glyphs {
                out.append(utf8: glyph(event))
                out.append(Self.space)
            }
            out.append(utf8: label(event))
        }
        out.append(Self.space)
        Self.rightAligned(&out, width: 7) { out in
            if let subject = event.subject { out.append(number: subject.isThread ? subject.tid : subject.pid) }
        }
        out.append(Self.space)
        Self.rightAligned(&out, width: 7) { out in
            switch event.detail {
            case .fork(let parentTask, _): out.append(number: parentTask.pid)
            case .exit(_, _, _, let parentTask), .coredump(_, let parentTask):
                if parentTask.pid > 0 { out.append(number: parentTask.pid) } else if let process = observed.process { out.append(number: process.parentPID) }
            case .lost: break
            default: if let process = observed.process { out.append(number: process.parentPID) }
            }
        }
        if style.extra {
            out.append(Self.space)
            Self.leftAligned(&out, width: 8) { out in
                if let uid = observed.process?.uid { out.append(utf8: names.user(uid)) }
            }
            out.append(Self.space)
            Self.leftAligned(&out, width: 8) { out in
                if let euid = observed.process?.effectiveUID { out.append(utf8: names.user(euid)) }
            }
            out.append(Self.space)
            Self.leftAligned(&out, width: 7) { out in
                out.append(utf8: event.subject.flatMap { terminals.name(of: $0.pid) } ?? "?")
            }
        }
        if style.container {
            out.append(Self.space)
            Self.leftAligned(&out, width: Self.containerWidth) { out in
                if let id = observed.process?.container?.id { out.append(contentsOf: id.utf8.prefix(Self.containerWidth)) } else { out.append(UInt8(ascii: "-")) }
            }
        }
        out.append(Self.space)
        Self.leftAligned(&out, width: 24) { appendInfo(observed, to: &$0) }
        out.append(Self.space)
        Self.rightAligned(&out, width: 9) { out in
            if case .exit = event.detail, let lifetime = observed.process?.lifetimeSeconds { Self.appendSeconds(lifetime, to: &out) }
        }
        out.append(Self.space)
        appendProcessName(observed, to: &out)
        if style.ancestry, !observed.ancestors.isEmpty {
            out.append(ascii: "  [")
            for ancestor in observed.ancestors.reversed() {
                if ancestor.name.isEmpty { out.append(number: ancestor.pid) } else { out.append(utf8: ancestor.name) }
                out.append(ascii: " → ")
            }
            out.append(utf8: observed.process?.name ?? "?")
            out.append(UInt8(ascii: "]"))
        }
        while out.count > lineStart, out.last == Self.space { out.removeLast() }
        if let width = style.width { LineWidth.fit(&out, from: textStart, columns: width.current) }
        if style.colour { out.append(ascii: "\u{1B}[0m") }
    }

    private static let space = UInt8(ascii: " ")
    /// A container id is shown by its first 12 characters, as `docker ps` shows it.
    static let containerWidth = 12

    /// Characters (not bytes) from `start`: UTF-8 continuation bytes do not count.
    private static func characters(_ out: [UInt8], from start: Int) -> Int {
        var count = 0
        for index in start..<out.count where out[index] & 0xC0 != 0x80 { count += 1 }
        return count
    }

    /// Writes a column and pads it with spaces on the right to `width` characters.
    private static func leftAligned(_ out: inout [UInt8], width: Int, _ body: (inout [UInt8]) -> Void) {
        let start = out.count
        body(&out)
        let written = characters(out, from: start)
        if written < width { out.append(contentsOf: repeatElement(space, count: width - written)) }
    }

    /// Writes a column and pads it with spaces on the left to `width` characters.
    private static func rightAligned(_ out: inout [UInt8], width: Int, _ body: (inout [UInt8]) -> Void) {
        let start = out.count
        body(&out)
        let written = characters(out, from: start)
        if written < width { out.insert(contentsOf: repeatElement(space, count: width - written), at: start) }
    }

    private func appendInfo(_ observed: ObservedEvent, to out: inout [UInt8]) {
        switch observed.event.detail {
        case .fork(_, let child):
            if child.isThread {
                out.append(ascii: "thread ")
                out.append(number: child.tid)
            } else {
                out.append(ascii: "child")
            }
        case .exec:
            if let previous = observed.previousName, !previous.isEmpty {
                out.append(ascii: "was ")
                out.append(utf8: previous)
            }
        case .exit(let task, let status, _, _):
            if task.isThread {
                out.append(ascii: "thread ")
                out.append(number: task.tid)
                out.append(Self.space)
            }
            if case .exited(let code) = ExitStatus(waitStatus: status) {
                out.append(ascii: "exit ")
                out.append(number: code)
            } else {
                out.append(utf8: ExitStatus(waitStatus: status).description)
            }
        default:
            out.append(utf8: info(observed))
        }
    }

    /// The PROCESS column: the command line (with `-s`, argv[0]; with `-d`, without its
    /// directory), or the name when no command line is known. An event that carries its own
    /// command line, taken in the kernel, shows that one (the rule the contract follows,
    /// ``ProcessEvent/carriedCommandLine``); a failed exec shows the path it was called with
    /// in the place of argv[0], then its arguments: what could not be run.
    private func appendProcessName(_ observed: ObservedEvent, to out: inout [UInt8]) {
        if case .execFailed(_, let failure) = observed.event.detail {
            appendCommandLine(program: failure.path, arguments: failure.commandLine.dropFirst(), to: &out)
            return
        }
        let commandLine = observed.event.carriedCommandLine ?? observed.process?.commandLine ?? []
        if style.name != .comm, let argv0 = commandLine.first {
            appendCommandLine(program: argv0, arguments: commandLine.dropFirst(), to: &out)
            return
        }
        guard let process = observed.process else {
            if observed.event.kind != nil { out.append(UInt8(ascii: "?")) }
            return
        }
        if process.name.isEmpty {
            out.append(UInt8(ascii: "?"))
        } else if commandLine.isEmpty && style.name != .comm {
            out.append(UInt8(ascii: "["))
            out.append(utf8: process.name)
            out.append(UInt8(ascii: "]"))
        } else {
            out.append(utf8: process.name)
        }
    }

    /// A program and its arguments, as the name style says (`-s`: the program alone; `-d`:
    /// without its directory).
    private func appendCommandLine(program: String, arguments: ArraySlice<String>, to out: inout [UInt8]) {
        if style.stripDirectory, let slash = program.utf8.lastIndex(of: UInt8(ascii: "/")) {
            out.append(utf8: String(program[program.utf8.index(after: slash)...]))
        } else {
            out.append(utf8: program)
        }
        guard style.name != .short else { return }
        for argument in arguments {
            out.append(Self.space)
            out.append(utf8: argument)
        }
    }

    /// `1.234s`
    static func seconds(_ value: Double) -> String {
        var bytes: [UInt8] = []
        appendSeconds(value, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    static func appendSeconds(_ value: Double, to out: inout [UInt8]) {
        let millis = Int64((value * 1000).rounded())
        out.append(decimal: millis / 1000)
        out.append(UInt8(ascii: "."))
        out.append(decimal: millis % 1000, width: 3)
        out.append(UInt8(ascii: "s"))
    }

    // MARK: Columns

    func label(_ event: ProcessEvent) -> String {
        switch event.detail {
        case .fork(_, let child): child.isThread ? "clone" : "fork"
        default: event.detail.eventKind?.label ?? event.name
        }
    }

    func info(_ observed: ObservedEvent) -> String {
        switch observed.event.detail {
        case .fork(_, let child): return child.isThread ? "thread \(child.tid)" : "child"
        case .exec: return observed.previousName.map { $0.isEmpty ? "" : "was \($0)" } ?? ""
        case .exit(let task, let status, _, _):
            let text = ExitStatus(waitStatus: status).description
            return task.isThread ? "thread \(task.tid) \(text)" : text
        case .uid(_, let real, let effective):
            return real == effective ? "uid \(names.user(real))" : "uid \(names.user(real)) euid \(names.user(effective))"
        case .gid(_, let real, let effective):
            return real == effective ? "gid \(names.group(real))" : "gid \(names.group(real)) egid \(names.group(effective))"
        case .sid(let task): return "sid \(task.pid)"
        case .ptrace(_, let tracer) where tracer.pid != 0: return "attach by \(tracer.pid)"
        case .ptrace:
            // The kernel sends tracer 0 on detach; the table remembers who attached.
            return observed.process?.lastTracerPID.map { "detach from \($0)" } ?? "detach"
        case .comm(_, let name): return "\(observed.previousName ?? "?") → \(name)"
        case .coredump: return "dumping core"
        // The path and arguments follow in the PROCESS column, as an exec's command line does.
        case .execFailed(_, let failure): return "exec failed \(failure.errorName)"
        case .unknown(let what, _): return "what 0x\(String(what, radix: 16))"
        case .lost(let count, let reason, let cpu):
            let number = count.map { "\($0)" } ?? "some"
            return "lost \(number) events (\(reason.rawValue)\(cpu.map { ", cpu \($0)" } ?? ""))"
        }
    }

    // MARK: Looks

    func glyph(_ event: ProcessEvent) -> String {
        switch event.detail {
        case .fork(_, let child): child.isThread ? "⑃" : "⑂"
        case .exec: "▶"
        case .exit(_, let status, _, _): status == 0 ? "■" : "✖"
        case .coredump: "✸"
        case .execFailed: "✗"
        case .comm: "✎"
        case .uid, .gid: "⚿"
        case .sid: "⊙"
        case .ptrace: "⌖"
        case .unknown: "?"
        case .lost: "⚠"
        }
    }

    static func colourCode(_ event: ProcessEvent) -> StaticString {
        switch event.detail {
        case .fork: "36"  // cyan
        case .exec: "32"  // green
        case .exit(_, let status, _, _): status == 0 ? "2" : "31"  // dim / red
        case .coredump: "1;31"
        case .execFailed: "31"  // red
        case .uid, .gid: "35"
        case .sid, .comm: "34"
        case .ptrace: "33"
        case .lost: "1;33"
        case .unknown: "2"
        }
    }

    func pad(_ text: String, _ width: Int) -> String {
        let count = text.count
        return count >= width ? text : text + String(repeating: " ", count: width - count)
    }

    func left(_ text: String, _ width: Int) -> String {
        let count = text.count
        return count >= width ? text : String(repeating: " ", count: width - count) + text
    }
}
