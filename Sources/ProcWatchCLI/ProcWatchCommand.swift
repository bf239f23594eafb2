import ArgumentParser
import Dispatch
import ProcWatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `procwatch`: the live event view — everything forkstat does, without its blind spots.

package struct ProcWatchCommand: AsyncParsableCommand {
    /// `record` and `report`: forwarders to `procwatch-store` in `procwatch`, the real commands
    /// in `procwatch-store` (set by ``procwatchStoreMain(storeCommands:)`` before parsing).
    nonisolated(unsafe) package static var storeCommands: [any ParsableCommand.Type] = [RecordForwarder.self, ReportForwarder.self, DaemonForwarder.self, HistoryForwarder.self, HostsForwarder.self]

    package static var configuration: CommandConfiguration { CommandConfiguration(
        commandName: "procwatch",
        abstract: "Show what every process on this host does, as it happens.",
        discussion: """
            Streams the kernel's process events (fork, exec, uid, gid, sid, ptrace, comm, \
            coredump, exit) one line each, named from a live process table, until Ctrl-C, \
            SIGTERM or -D. Lost events are reported, never hidden. Needs root (or \
            CAP_NET_ADMIN) on kernels before 6.6.

            Examples:
              procwatch                              every event, as a table
              procwatch -e exec,exit -D 10           execs and exits for ten seconds
              procwatch -e nonzeroexit               only processes that failed
              procwatch -e execfail --source bpf     execs that failed (seen in the kernel)
              procwatch --json -e all > events.jsonl every event as JSON lines
              procwatch --tree 1234 --ancestry       a process tree, with ancestry
              procwatch --comm '^(cc1|ld)$' -x       compilers and linkers, with users
              procwatch -q -D 5                      statistics only, after 5 seconds
              procwatch stats                        a live table per command
              procwatch run -- make -j2              time(1) for a whole process tree
              procwatch record -o build.db -- make   a build's events, in SQLite
              procwatch report build.db --svg t.svg  its summary, tree and timeline
            """,
        version: ProcWatchVersion.description,
        subcommands: [StatsCommand.self, RunCommand.self, JobsCommand.self] + storeCommands) }

    // `.unconditional`: `-D -5` is a bad value to name, not a missing one.
    @Option(name: .customShort("D"), parsing: .unconditional, help: ArgumentHelp("Stop after this many seconds. Example: -D 10", valueName: "SECONDS"))
    package var duration: Double?

    @Flag(name: .customShort("S"), help: "Show statistics at the end of the run (per command, forks/s, top forkers, failures, losses); with --json they go to standard error, so standard output stays JSON lines. Example: procwatch -S -D 10")
    var statistics = false

    @Flag(name: .customShort("q"), help: "Quiet: print no events, only the statistics at the end (implies -S). Example: procwatch -q -D 5")
    var quiet = false

    @Flag(name: .customShort("x"), help: "Extra columns, as forkstat's -x: the process's user (UID), effective user (EUID) and controlling terminal (TTY), and its container (CONTAINER: the id's first 12 characters, - for none). Example: procwatch -x")
    var extra = false

    @Flag(name: .customLong("container-column"), help: "The CONTAINER column alone (the container id's first 12 characters, - for none; part of -x). Example: procwatch --container-column -e exec")
    var containerColumn = false

    @Flag(name: .customShort("s"), help: "Short names: the program (argv[0]) without its arguments. Example: procwatch -s")
    var shortNames = false

    @Flag(name: .customShort("d"), help: "Strip the directory from the program's path. Example: procwatch -s -d")
    var stripDirectory = false

    @Flag(name: .customShort("c"), help: "Name processes by their kernel task name (comm) instead of their command line. Example: procwatch -c")
    var commNames = false

    @Flag(name: .customShort("l"), help: "Line-buffered output (always on: lines are written as soon as the events of each kernel read are handled, never held back). Example: procwatch -l | grep exec")
    var lineBuffered = false

    @Flag(name: .customShort("r"), help: "Run with real-time FIFO scheduling (needs root or CAP_SYS_NICE). Example: procwatch -r")
    var realTime = false

    @Flag(name: .customShort("g"), help: "Show a glyph for each kind of event (on by default on a terminal). Example: procwatch -g | less -R")
    var glyphs = false

    @Flag(name: .customShort("X"), help: "The same as -EgrSx. Example: procwatch -X -D 30")
    var everything = false

    @Flag(name: .long, help: "JSON lines, one object per event, as the event contract says. Example: procwatch --json -e all")
    package var json = false

    @OptionGroup package var selecting: SelectionOptions

    @OptionGroup package var sourcing: SourceOptions

    @Flag(name: .long, help: "Show each process's chain of ancestors (bash → make → cc1). Example: procwatch --ancestry -e exec")
    var ancestry = false

    @Option(name: .long, help: ArgumentHelp("Colour (and glyphs): auto (on a terminal), always, never. Example: --color never", valueName: "WHEN"))
    var color: ColorChoice = .auto

    // CaseIterable: an unknown value's error lists the valid ones.
    enum ColorChoice: String, CaseIterable, ExpressibleByArgument { case auto, always, never }

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp(
        "Cut text lines to this many columns, ending in …; by default lines are cut to the terminal's width (followed when it is resized), and piped output stays whole. Example: --width 100",
        valueName: "COLUMNS"))
    package var width: Int?

    @Flag(name: .customLong("no-truncate"), help: "Never cut text lines, even on a terminal. Example: procwatch --no-truncate -e exec")
    package var noTruncate = false

    /// The width text lines are cut to on standard output (nil: whole).
    package var lineWidth: LineWidth? { LineWidth.standardOutput(width: width, truncate: !noTruncate) }

    /// Parses and runs; every error is one line on standard error (`procwatch: …`) and a
    /// non-zero exit, never a usage dump or a crash trace.
    static func main() async {
        do {
            let subcommands = Set(configuration.subcommands.compactMap { $0.configuration.commandName })
            var command = try parseAsRoot(SourceOptions.withDefaultSocket(Array(CommandLine.arguments.dropFirst()), subcommands: subcommands))
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let exit as ExitCode {
            Glibc.exit(exit.rawValue)  // the command already said what it had to
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))  // --help, --version
                Glibc.exit(0)
            }
            let text = message(for: error).split(separator: "\n").first.map(String.init) ?? ""
            if !text.isEmpty { FileHandleOutput.standardError("procwatch: \(text)") }
            Glibc.exit(code.rawValue)
        }
    }

    package init() {}

    package func validate() throws {
        if let duration, !(duration > 0 && duration <= 1e7) {
            throw ValidationError("-D takes a positive number of seconds (at most 10000000), not \(duration)")
        }
        if let width, !(10...1_000_000).contains(width) {
            throw ValidationError("--width takes a number of columns from 10 to 1000000, not \(width)")
        }
        if width != nil, noTruncate { throw ValidationError("--width and --no-truncate cannot be combined") }
        if quiet, json { throw ValidationError("-q (statistics only) and --json (every event) cannot be combined") }
        if shortNames, commNames { throw ValidationError("-s (program name) and -c (comm name) cannot be combined") }
        if selecting.events != nil, everything { throw ValidationError("-e and -E/-X both choose events: use one") }
    }

    package func run() async throws {
        let selection = everything ? .all : try selecting.selection()
        let filter = try selecting.filter()
        let quiet = self.quiet
        let showStatistics = statistics || quiet || everything
        // Buffered: flushed after every batch the reader handles, so still prompt when piped.
        let output = LineOutput(buffered: true)
        let format: LiveView.Format
        if quiet {
            format = .quiet
        } else if json {
            format = .json(JSONRenderer())
        } else {
            var style = TextRenderer.Style()
            style.name = shortNames ? .short : (commNames ? .comm : .commandLine)
            style.stripDirectory = stripDirectory
            style.extra = extra || everything
            style.container = style.extra || containerColumn
            let terminal = isatty(1) == 1 && getenv("NO_COLOR") == nil
            style.glyphs = glyphs || everything || (color == .always || (color == .auto && terminal))
            style.ancestry = ancestry
            style.colour = color == .always || (color == .auto && terminal)
            style.utcOffsetSeconds = Self.utcOffsetSeconds()
            style.width = lineWidth
            format = .text(TextRenderer(style: style))
        }

        let view = try await LiveSession.watch(
            selection: selection, filter: filter, format: format, ancestry: ancestry, output: output,
            duration: duration, realTime: realTime || everything, sourcing: sourcing,
            daemonSelection: { () throws(DaemonClientError) in try DaemonSelection(options: selecting, everything: everything) })
        output.flush()
        // With --json, standard output carries nothing but JSON lines (`| jq` must keep
        // working): the statistics table goes to standard error.
        if showStatistics { LineOutput(descriptor: json ? 2 : 1).write(view.statisticsReport()) }
    }

    /// Seconds east of UTC now (for the time column in local time).
    static func utcOffsetSeconds() -> Int64 {
        var now = time(nil)
        var local = tm()
        localtime_r(&now, &local)
        return Int64(local.tm_gmtoff)
    }
}

/// A one-shot stop request that may fire before anyone listens for it.
package final class StopSignal: Sendable {
    package init() {}

    private let state = Mutex<(fired: Bool, action: (@Sendable () -> Void)?)>((false, nil))

    package func fire() {
        let action = state.withLock { state -> (@Sendable () -> Void)? in
            state.fired = true
            return state.action
        }
        action?()
    }

    /// Whether it has fired.
    package var hasFired: Bool { state.withLock { $0.fired } }

    package func onFire(_ action: @escaping @Sendable () -> Void) {
        let firedAlready = state.withLock { state -> Bool in
            state.action = action
            return state.fired
        }
        if firedAlready { action() }
    }
}

package enum FileHandleOutput {
    package static func standardOutput(_ line: String) { LineOutput().write(line) }

    package static func standardError(_ line: String) {
        var text = line
        text.append("\n")
        _ = text.withCString { write(2, $0, strlen($0)) }
    }
}

/// Runs the `procwatch` command on the process's arguments and exits: the whole body of the
/// `procwatch` executable.
public func procwatchMain() async -> Never {
    if ProcWatchCommand.storeCommands.first is RecordForwarder.Type, StoreBinary.isHelpForStoreCommand(CommandLine.arguments) {
        StoreBinary.exec()
    }
    await ProcWatchCommand.main()
    exit(0)
}

/// `procwatch-store`'s entry point: the same command tree, with the real `record` and
/// `report` in place of the forwarders.
package func procwatchStoreMain(storeCommands: [any ParsableCommand.Type]) async -> Never {
    ProcWatchCommand.storeCommands = storeCommands
    await ProcWatchCommand.main()
    exit(0)
}
