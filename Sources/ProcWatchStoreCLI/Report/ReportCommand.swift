import ArgumentParser
import ProcWatchCLI
import ProcWatchFleet
import ProcWatchStore
#if canImport(Glibc)
import Glibc
#endif

/// `procwatch report FILE.db` (or `--from postgresql://…`, the fleet store): what a recording
/// holds, as text, JSON, SVG or HTML.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = StoreCommandConfigurations.report

    @Argument(help: ArgumentHelp("The recording (written by procwatch record). Example: build.db", valueName: "FILE"))
    var file: String?

    @Option(name: .long, help: FleetAccess.fromHelp)
    var from: String?

    @Option(name: .long, help: FleetAccess.hostHelp)
    var host: [String] = []

    /// `--json`, `--pid`, `--tree` and `--comm` are the root command's options (an option
    /// both declared would be parsed into the root's): read from there.
    @ParentCommand var root: ProcWatchCommand

    @Option(name: .long, help: ArgumentHelp("Write the timeline as SVG. Example: --svg timeline.svg", valueName: "FILE"))
    var svg: String?

    @Option(name: .long, help: ArgumentHelp("Write the timeline as a zoomable HTML page. Example: --html timeline.html", valueName: "FILE"))
    var html: String?

    @Option(name: .long, help: ArgumentHelp(
        "Only what ran at or after this time: UTC timestamp, or seconds after the recording started (with --from: 3h, 2d, today, yesterday or a UTC time). Example: --since 2026-11-23T03:00Z or --since 10",
        valueName: "TIME"))
    var since: String?

    @Option(name: .long, help: ArgumentHelp("Only what ran at or before this time (as --since). Example: --until 60", valueName: "TIME"))
    var until: String?

    @Option(name: .long, help: ArgumentHelp(
        "Only recording N of a file that several `record` runs appended to (the text report numbers them #1, #2, ...). Example: --recording 2",
        valueName: "N"))
    var recording: Int64?

    @Flag(name: .long, help: "Only the newest recording of the file. Example: procwatch report run.db --last")
    var last = false

    func validate() throws {
        try root.rejectOptions(notUsedBy: "report", used: ["--json", "--pid", "--tree", "--comm"])
        switch (file, from) {
        case (nil, nil): throw ValidationError("give the recording FILE or --from postgresql://… (the fleet store)")
        case (.some, .some): throw ValidationError("FILE and --from both name what to report: use one")
        case (.some, nil) where !host.isEmpty: throw ValidationError("--host chooses hosts of the fleet store: use it with --from")
        case (nil, .some) where recording != nil || last:
            throw ValidationError("--recording and --last choose a recording of a file: with --from, choose by --host, --since and --until")
        default: break
        }
        if let recording, recording < 1 { throw ValidationError("--recording takes a recording number (1 or more), not \(recording)") }
        if recording != nil, last { throw ValidationError("--recording and --last both choose a recording: use one") }
        _ = try filter()
    }

    func filter() throws -> ReportFilter {
        var filter = ReportFilter()
        for (flag, value) in [("--since", since), ("--until", until)] {
            guard let value else { continue }
            // The fleet holds months: times are instants there (3h, yesterday), not offsets into a recording.
            if from != nil {
                guard let instant = HistoryTime.parse(value) else {
                    throw ValidationError("\(flag) '\(value)' is not a time: use \(HistoryTime.examples)")
                }
                if flag == "--since" { filter.since = .time(instant) } else { filter.until = .time(instant) }
                continue
            }
            guard let bound = TimeBound(parsing: value) else {
                throw ValidationError("\(flag) '\(value)' is neither a UTC time (2026-11-23T03:00:00Z) nor a number of seconds")
            }
            if flag == "--since" { filter.since = bound } else { filter.until = bound }
        }
        filter.pid = root.selecting.pid
        filter.tree = root.selecting.tree
        // The live view's option parsing, so --comm is compiled and refused the same way.
        filter.comm = try root.selecting.filter(checkingProcesses: false).comm
        filter.recording = last ? .last : recording.map { .id($0) }
        return filter
    }

    /// The selection as typed, for "nothing matches": `--pid 1 --since 10`.
    var selectionDescribed: String {
        var parts: [String] = []
        if let pid = root.selecting.pid { parts.append("--pid \(pid)") }
        if let tree = root.selecting.tree { parts.append("--tree \(tree)") }
        if let comm = root.selecting.comm { parts.append("--comm '\(comm)'") }
        if let since { parts.append("--since \(since)") }
        if let until { parts.append("--until \(until)") }
        return parts.joined(separator: " ")
    }

    /// The report: from the file, or from the fleet store (exit status 64 for a store that
    /// cannot be read, as for a file).
    func load(abandoning outputs: [(OutputFile, (TimelineSVG) -> String)]) async throws -> RecordingReport {
        do {
            if let file { return try ReportReader.load(path: file, filter: try filter()) }
            let reader = try FleetAccess.reader(from ?? "")
            return try await reader.report(hostNames: FleetAccess.hostNames(host), filter: try filter())
        } catch let error as FleetError {
            for (output, _) in outputs { output.abandon() }
            throw FleetAccess.failure(error, status: 64)
        } catch {
            for (output, _) in outputs { output.abandon() }
            FileHandleOutput.standardError("procwatch: \(error)")
            throw ExitCode(64)
        }
    }

    func run() async throws {
        // The timeline files are opened before the recording is read: a path that cannot be
        // written is refused before anything is printed.
        var outputs: [(OutputFile, (TimelineSVG) -> String)] = []
        do {
            if let svg { outputs.append((try OutputFile(path: svg), { $0.render() })) }
            if let html { outputs.append((try OutputFile(path: html), { TimelineHTML(timeline: $0).render() })) }
        } catch {
            for (output, _) in outputs { output.abandon() }
            FileHandleOutput.standardError("procwatch: \(error)")
            throw ExitCode(64)
        }
        let report = try await load(abandoning: outputs)
        if report.processes.isEmpty, !selectionDescribed.isEmpty {
            for (output, _) in outputs { output.abandon() }
            FileHandleOutput.standardError("procwatch: no process in \(report.path) matches \(selectionDescribed)")
            throw ExitCode(1)
        }
        let timeline = TimelineSVG(report: report)
        for (output, render) in outputs {
            do { try output.write(render(timeline)) } catch {
                FileHandleOutput.standardError("procwatch: \(error)")
                throw ExitCode(1)
            }
        }
        if root.json {
            do { FileHandleOutput.standardOutput(try report.json()) } catch {
                FileHandleOutput.standardError("procwatch: report: \(error)")
                throw ExitCode(1)
            }
        } else {
            FileHandleOutput.standardOutput(report.text())
        }
    }
}

/// A file the report writes, opened (created if needed, not yet truncated) before any work.
struct OutputFile {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let path: String
    private let descriptor: Int32
    /// Whether opening created it (then giving up removes it again).
    private let created: Bool

    init(path: String) throws(Failure) {
        self.path = path
        created = access(path, F_OK) != 0
        descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw Failure(description: "cannot write \(path): \(String(cString: strerror(errno)))") }
    }

    /// Replaces the file's contents with `text`, then closes it.
    func write(_ text: String) throws(Failure) {
        defer { close(descriptor) }
        guard ftruncate(descriptor, 0) == 0 else { throw Failure(description: "cannot write \(path): \(String(cString: strerror(errno)))") }
        let output = LineOutput(descriptor: descriptor)
        output.write(text)
        if output.failed { throw Failure(description: "cannot write \(path): \(String(cString: strerror(errno)))") }
    }

    /// Closes it untouched, removing it if opening created it.
    func abandon() {
        close(descriptor)
        if created { unlink(path) }
    }
}
