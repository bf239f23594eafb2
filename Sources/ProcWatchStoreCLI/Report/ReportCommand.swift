import ArgumentParser
import ProcWatchCLI
import ProcWatchStore
#if canImport(Glibc)
import Glibc
#endif

/// `procwatch report FILE.db`: what a recording holds, as text, JSON, SVG or HTML.
struct ReportCommand: ParsableCommand {
    static let configuration = StoreCommandConfigurations.report

    @Argument(help: ArgumentHelp("The recording (written by procwatch record). Example: build.db", valueName: "FILE"))
    var file: String

    /// `--json`, `--pid`, `--tree` and `--comm` are the root command's options (an option
    /// both declared would be parsed into the root's): read from there.
    @ParentCommand var root: ProcWatchCommand

    @Option(name: .long, help: ArgumentHelp("Write the timeline as SVG. Example: --svg timeline.svg", valueName: "FILE"))
    var svg: String?

    @Option(name: .long, help: ArgumentHelp("Write the timeline as a zoomable HTML page. Example: --html timeline.html", valueName: "FILE"))
    var html: String?

    @Option(name: .long, help: ArgumentHelp(
        "Only what ran at or after this time: UTC timestamp, or seconds after the recording started. Example: --since 2026-11-23T03:00Z or --since 10",
        valueName: "TIME"))
    var since: String?

    @Option(name: .long, help: ArgumentHelp("Only what ran at or before this time (as --since). Example: --until 60", valueName: "TIME"))
    var until: String?

    func validate() throws {
        try root.rejectOptions(notUsedBy: "report", used: ["--json", "--pid", "--tree", "--comm"])
        _ = try filter()
    }

    func filter() throws -> ReportFilter {
        var filter = ReportFilter()
        for (flag, value) in [("--since", since), ("--until", until)] {
            guard let value else { continue }
            guard let bound = TimeBound(parsing: value) else {
                throw ValidationError("\(flag) '\(value)' is neither a UTC time (2026-11-23T03:00:00Z) nor a number of seconds")
            }
            if flag == "--since" { filter.since = bound } else { filter.until = bound }
        }
        filter.pid = root.selecting.pid
        filter.tree = root.selecting.tree
        // The live view's option parsing, so --comm is compiled and refused the same way.
        filter.comm = try root.selecting.filter(checkingProcesses: false).comm
        return filter
    }

    func run() throws {
        let report: RecordingReport
        do { report = try ReportReader.load(path: file, filter: try filter()) } catch {
            FileHandleOutput.standardError("procwatch: \(error)")
            throw ExitCode(64)
        }
        let timeline = TimelineSVG(report: report)
        if let svg { try write(timeline.render(), to: svg) }
        if let html { try write(TimelineHTML(timeline: timeline).render(), to: html) }
        if root.json {
            do { FileHandleOutput.standardOutput(try report.json()) } catch {
                FileHandleOutput.standardError("procwatch: report: \(error)")
                throw ExitCode(1)
            }
        } else {
            FileHandleOutput.standardOutput(report.text())
        }
    }

    private func write(_ text: String, to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            FileHandleOutput.standardError("procwatch: cannot write \(path): \(String(cString: strerror(errno)))")
            throw ExitCode(64)
        }
        let output = LineOutput(descriptor: descriptor)
        output.write(text)
        close(descriptor)
        if output.failed {
            FileHandleOutput.standardError("procwatch: cannot write \(path): \(String(cString: strerror(errno)))")
            throw ExitCode(1)
        }
    }
}
