import ArgumentParser
import ProcWatch
#if canImport(Glibc)
import Glibc
#endif

/// `procwatch stats`: a table per command that refreshes like top.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "A live table of process activity per command, refreshed like top.",
        discussion: """
            Counts every event kind per command since the start, with forks per second, the \
            top forkers, failed exits and lost events. On a terminal the screen is redrawn; \
            piped, one table is printed per interval.

            Options of procwatch that apply, written after `stats`:
              -e <LIST>            events to count, comma-separated (see procwatch --help)
              -E                   all events
              --pid <PID>          only this process (and the forks it makes)
              --tree <PID>         this process and every descendant
              --comm <REGEX>       only processes whose name matches
              --user <NAME|UID>    only processes of this user
              --include-self       also count procwatch's own process
              -D <SECONDS>         stop after this many seconds
              -r                   real-time FIFO scheduling
              --source <SOURCE>    bpf, connector or auto (see procwatch --help)
              --connect [SOCKET]   through procwatch daemon (see procwatch --help)

            Examples:
              procwatch stats                        refresh every second until Ctrl-C
              procwatch stats --interval 5 -D 60     every five seconds for a minute
              procwatch stats --tree $$              only this shell and what it starts
            """)

    /// The event and process selection and -D are the root command's options (an option
    /// both commands declared would be parsed into the root's): `procwatch stats -D 5 --tree 1`.
    @ParentCommand var root: ProcWatchCommand

    @Option(name: .long, help: ArgumentHelp("Seconds between refreshes. Example: --interval 2", valueName: "SECONDS"))
    var interval: Double = 1

    func validate() throws {
        try root.rejectOptions(notUsedBy: "stats", used: ["-D", "-r", "-X", "-e", "-E", "--pid", "--tree", "--comm", "--user", "--cgroup", "--container", "--include-self", "--source", "--connect"])
        if !(interval >= 0.01 && interval <= 1e6) {
            throw ValidationError("--interval takes a number of seconds from 0.01 to 1000000, not \(interval)")
        }
    }

    func run() async throws {
        let output = LineOutput()
        let redraw = isatty(1) == 1
        let view = try await LiveSession.watch(
            selection: root.everything ? .all : try root.selecting.selection(), filter: try root.selecting.filter(),
            format: .quiet, ancestry: false, output: output, duration: root.duration, realTime: root.realTime,
            sourcing: root.sourcing,
            daemonSelection: { [root] () throws(DaemonClientError) in try DaemonSelection(options: root.selecting, everything: root.everything) },
            tickInterval: interval
        ) { view in
            let heading = "procwatch stats — \(Int(view.runSeconds))s"
            output.write((redraw ? "\u{1B}[H\u{1B}[2J" : "") + heading + "\n" + view.statisticsReport() + (redraw ? "" : "\n"))
        }
        output.write(view.statisticsReport())
    }
}
