import ProcWatch

/// The live view's lines: aligned columns, colour and glyphs on a terminal.
struct TextRenderer {
    struct Style {
        /// Which name to show: the command line (default), argv[0] only (`-s`), or comm (`-c`).
        enum Name { case commandLine, short, comm }
        var name: Name = .commandLine
        /// Strip the directory from argv[0] (`-d`).
        var stripDirectory = false
        /// UID and TTY columns (`-x`).
        var extra = false
        /// A glyph per event kind (`-g`).
        var glyphs = false
        /// ANSI colour (on a terminal).
        var colour = false
        /// The ancestor chain after the name (`--ancestry`).
        var ancestry = false
        /// Seconds east of UTC for the time column.
        var utcOffsetSeconds: Int64 = 0
    }

    var style: Style
    let names = AccountNames()
    let terminals = TerminalNames()

    var header: String {
        var line = pad("TIME", 15) + " " + pad("EVENT", style.glyphs ? 10 : 8) + " " + left("PID", 7) + " " + left("PPID", 7)
        if style.extra { line += " " + pad("UID", 8) + " " + pad("TTY", 7) }
        return line + " " + pad("INFO", 24) + " " + left("DURATION", 9) + " PROCESS"
    }

    func render(_ observed: ObservedEvent) -> String {
        let event = observed.event
        let time = WallClock.timeOfDay(unixNanoseconds: event.timestamp.unixNanoseconds, utcOffsetSeconds: style.utcOffsetSeconds)
        var kind = label(event)
        if style.glyphs { kind = glyph(event) + " " + kind }
        let pid = event.subject.map { $0.isThread ? "\($0.tid)" : "\($0.pid)" } ?? ""
        var parent = ""
        switch event.detail {
        case .fork(let parentTask, _): parent = "\(parentTask.pid)"
        case .exit(_, _, _, let parentTask), .coredump(_, let parentTask):
            parent = parentTask.pid > 0 ? "\(parentTask.pid)" : (observed.process.map { "\($0.parentPID)" } ?? "")
        case .lost: break
        default: parent = observed.process.map { "\($0.parentPID)" } ?? ""
        }
        var line = pad(time, 15) + " " + pad(kind, style.glyphs ? 10 : 8) + " " + left(pid, 7) + " " + left(parent, 7)
        if style.extra {
            let uid = observed.process?.uid.map { names.user($0) } ?? ""
            let tty = event.subject.flatMap { terminals.name(of: $0.pid) } ?? "?"
            line += " " + pad(uid, 8) + " " + pad(tty, 7)
        }
        let duration = observed.process?.lifetimeSeconds.map { Self.seconds($0) } ?? ""
        line += " " + pad(info(observed), 24) + " " + left(event.name == "exit" ? duration : "", 9) + " " + processName(observed)
        if style.ancestry, !observed.ancestors.isEmpty {
            let chain = observed.ancestors.reversed().map { $0.name.isEmpty ? "\($0.pid)" : $0.name }
                + [observed.process?.name ?? "?"]
            line += "  [" + chain.joined(separator: " → ") + "]"
        }
        while line.last == " " { line.removeLast() }
        return style.colour ? colourise(line, event) : line
    }

    // MARK: Columns

    func label(_ event: ProcessEvent) -> String {
        switch event.detail {
        case .fork(_, let child): child.isThread ? "clone" : "fork"
        case .coredump: "core"
        default: event.name
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
        case .ptrace(_, let tracer): return tracer.pid == 0 ? "detach" : "attach by \(tracer.pid)"
        case .comm(_, let name): return "\(observed.previousName ?? "?") → \(name)"
        case .coredump: return "dumping core"
        case .unknown(let what, _): return "what 0x\(String(what, radix: 16))"
        case .lost(let count, let reason, let cpu):
            let number = count.map { "\($0)" } ?? "some"
            return "lost \(number) events (\(reason.rawValue)\(cpu.map { ", cpu \($0)" } ?? ""))"
        }
    }

    func processName(_ observed: ObservedEvent) -> String {
        guard let process = observed.process else { return observed.event.kind == nil ? "" : "?" }
        if style.name == .comm || process.commandLine.isEmpty {
            if process.name.isEmpty { return "?" }
            return process.commandLine.isEmpty && style.name != .comm ? "[\(process.name)]" : process.name
        }
        var argv0 = process.commandLine[0]
        if style.stripDirectory, let slash = argv0.lastIndex(of: "/") { argv0 = String(argv0[argv0.index(after: slash)...]) }
        if style.name == .short { return argv0 }
        return ([argv0] + process.commandLine.dropFirst()).joined(separator: " ")
    }

    static func seconds(_ value: Double) -> String {
        let millis = Int64((value * 1000).rounded())
        return "\(millis / 1000).\(WallClock.pad(millis % 1000, 3))s"
    }

    // MARK: Looks

    func glyph(_ event: ProcessEvent) -> String {
        switch event.detail {
        case .fork(_, let child): child.isThread ? "⑃" : "⑂"
        case .exec: "▶"
        case .exit(_, let status, _, _): status == 0 ? "■" : "✖"
        case .coredump: "✸"
        case .comm: "✎"
        case .uid, .gid: "⚿"
        case .sid: "⊙"
        case .ptrace: "⌖"
        case .unknown: "?"
        case .lost: "⚠"
        }
    }

    func colourise(_ line: String, _ event: ProcessEvent) -> String {
        let code: String
        switch event.detail {
        case .fork: code = "36"  // cyan
        case .exec: code = "32"  // green
        case .exit(_, let status, _, _): code = status == 0 ? "2" : "31"  // dim / red
        case .coredump: code = "1;31"
        case .uid, .gid: code = "35"
        case .sid, .comm: code = "34"
        case .ptrace: code = "33"
        case .lost: code = "1;33"
        case .unknown: code = "2"
        }
        return "\u{1B}[\(code)m\(line)\u{1B}[0m"
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
