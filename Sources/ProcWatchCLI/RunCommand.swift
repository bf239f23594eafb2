import ArgumentParser
import ProcWatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `procwatch run -- COMMAND`: like `time`, for the whole process tree.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a command and account for its whole process tree, like time(1) for every descendant.",
        discussion: """
            Prints wall time, user and system CPU of every process, peak RSS, bytes read and \
            written, processes and threads started, failed processes, and the process tree. \
            Exits with the command's own status (128+N when a signal N killed it). CPU, memory \
            and I/O come from the kernel's taskstats exit records (root or CAP_NET_ADMIN), \
            which count CPU in scheduler ticks: it is printed to the millisecond. The tree \
            lists children by the CPU of their whole subtree, and shows a process's own CPU \
            and its subtree's.

            Options of procwatch that apply, written after `run`:
              --json               the report as one JSON document
              -s                   programs without their arguments
              -d                   programs without their directory
              --width <COLUMNS>    cut lines to this many columns (default: the
                                   terminal's width; piped or -o: whole)
              --no-truncate        never cut lines
              --source <SOURCE>    bpf, connector, procfs or auto (see procwatch --help)
              --connect [SOCKET]   through procwatch daemon (see procwatch --help)

            With --max-processes or --max-memory the tree runs in a cgroup of its own \
            (cgroup v2 or v1, per controller), entered before the command starts; the \
            report adds the cgroup's own CPU, peak memory and I/O next to the taskstats \
            figures, the forks the process limit refused and the processes the memory \
            limit's OOM killer ended. Processes the command leaves running are killed \
            with the cgroup at the end (--wait-all waits for them first). SIGTERM ends \
            the whole tree, reports, removes the cgroup and exits 143.

            Examples:
              procwatch run -- make -j2
              procwatch run -s -d -- make -j2
              procwatch run --json -o report.json -- ./build.sh
              procwatch run --wait-all -- ./starts-a-daemon
              procwatch run --max-processes 50 --max-memory 512M -- make -j8
            """)

    /// `--json`, `-s`, `-d`, `--width` and `--no-truncate` are the root command's (an option
    /// both declared would be parsed into the root's): `procwatch run --json -- make` prints
    /// the report as one JSON document.
    @ParentCommand var root: ProcWatchCommand

    @Option(name: [.customShort("o"), .long], help: ArgumentHelp(
        "Write the report to this file instead of standard output (which the command shares). Example: -o report.json",
        valueName: "FILE"))
    var output: String?

    @Flag(name: .long, help: "Also wait for every descendant, daemons included, to exit. Example: procwatch run --wait-all -- ./spawner")
    var waitAll = false

    @OptionGroup var limitOptions: LimitOptions

    @Argument(parsing: .postTerminator, help: ArgumentHelp("The command and its arguments, after --. Example: -- make -j2", valueName: "COMMAND"))
    var command: [String] = []

    func validate() throws {
        try root.rejectOptions(notUsedBy: "run", used: ["--json", "-s", "-d", "--width", "--no-truncate", "--source", "--connect"])
        guard !command.drop(while: { $0 == "--" }).isEmpty else { throw ValidationError("run needs a command: procwatch run -- COMMAND [ARGS...]") }
    }

    func run() async throws {
        var arguments = command
        if arguments.first == "--" { arguments.removeFirst() }
        // Only the command's own tree matters: no need to read every process of /proc first.
        let source = ProcessEventSource(configuration: .init(
            enrichment: .init(seedsFromProc: false, readsExecutables: false), backend: root.sourcing.backend,
            // Where /proc is scanned: orphans come back to procwatch, and in a pid namespace
            // of its own the command's pids are this namespace's, as the scanner's are.
            procScan: .init(reapsOrphans: true, wantsNamespacePIDs: true, standsInUnderAuto: root.sourcing.scannerMayStandIn)))
        let watchers = ProcessWatchers(source: source)
        var daemon: (path: String, reason: String?)? = root.sourcing.connect.map { ($0, nil) }
        var recorder = JobRecorder(root: getpid())
        if daemon == nil {
            let kernelRecorder = recorder
            watchers.onEnriched([.fork, .exec, .comm, .exit]) { kernelRecorder.handle($0) }
            do {
                try watchers.start()
                SourceAnnouncement.sourceStarted(source)
            } catch {
                // As the live view: a daemon serves a user the kernel refused (neither
                // --source nor --connect given, and its socket is there).
                let fallback = DaemonRequest(path: SourceOptions.defaultSocket, selection: DaemonSelection())
                guard root.sourcing.source == nil, fallback.socketExists else {
                    FileHandleOutput.standardError("procwatch: \(error)")
                    throw ExitCode(2)
                }
                daemon = (fallback.path, "the kernel refused this user's subscription: \(error)")
            }
        }
        var cgroup: JobCgroup?
        if let limits = limitOptions.limits {
            do { cgroup = try LimitedRun.create(limits) } catch {
                watchers.stop()
                FileHandleOutput.standardError("procwatch: run: \(error)")
                throw ExitCode(2)
            }
        }
        // Every way out from here (the report, an error, SIGTERM) removes it.
        defer { if let cgroup { LimitedRun.remove(cgroup) } }
        let termination = cgroup.map(LimitedRun.endTreeOnTermination)
        // Like time(1): Ctrl-C and Ctrl-\ go to the command (it starts with default handlers);
        // procwatch stays to write the report and exit with the command's status.
        signal(SIGINT, SIG_IGN)
        signal(SIGQUIT, SIG_IGN)
        let started: Double
        let child: Int32
        var missing: String?
        var streaming: Task<DaemonClientError?, Never>?
        var client: DaemonClient?
        if let daemon {
            let connected: DaemonClient
            do { connected = try DaemonClient(path: daemon.path) } catch {
                FileHandleOutput.standardError("procwatch: \(error)")
                throw ExitCode(error.exitStatus)
            }
            // The daemon follows the command's tree by its pid: the command exists, held
            // before its exec, until the daemon accepted the selection.
            let held: HeldCommand
            do { held = try HeldCommand(arguments) } catch {
                FileHandleOutput.standardError("procwatch: run: \(arguments[0]): \(error)")
                throw ExitCode(127)
            }
            do { try connected.select(.run(command: held.pid)) } catch {
                Self.reapUnrun(held)
                FileHandleOutput.standardError("procwatch: \(error)")
                throw ExitCode(error.exitStatus)
            }
            if let cgroup {
                do { try cgroup.add(held.pid) } catch {
                    connected.stop()
                    Self.reapUnrun(held)
                    FileHandleOutput.standardError("procwatch: run: \(error)")
                    throw ExitCode(2)
                }
            }
            FileHandleOutput.standardError("procwatch: \(connected.sourceLine(reason: daemon.reason))")
            if connected.hello.source != "bpf" {
                missing = "the daemon's source (\(connected.hello.source)) carries no CPU, memory or I/O figures"
            }
            let name = String(arguments[0].split(separator: "/").last ?? "").utf8.prefix(15)
            recorder = JobRecorder(job: Job(root: held.pid, rootRecord: ProcessRecord(
                pid: held.pid, parentPID: getpid(), name: String(decoding: name, as: UTF8.self), commandLine: arguments,
                startNanoseconds: Clocks.monotonicNanoseconds())))
            let daemonRecorder = recorder
            streaming = Task {
                await ReaderThread.offPool {
                    do throws(DaemonClientError) { try connected.stream(handle: { daemonRecorder.handle($0.enriched) }, batchEnded: {}) } catch {
                        // Said at once; the command runs on, and its report follows.
                        FileHandleOutput.standardError("procwatch: \(error)")
                        return error
                    }
                    return nil
                }
            }
            client = connected
            started = Clocks.monotonicSeconds()
            child = held.pid
            do { try held.release() } catch {
                connected.stop()
                Self.reapUnrun(held)
                FileHandleOutput.standardError("procwatch: run: \(arguments[0]): \(error)")
                throw ExitCode(127)
            }
        } else {
            // Without exit records (no CAP_NET_ADMIN) the report says which figures it lacks.
            missing = source.exitRecordsError.map { "\($0)" }
            if source.activeBackend == .procfs { missing = "the /proc scanner reads no CPU, memory or I/O figures" }
            started = Clocks.monotonicSeconds()
            do { child = try LimitedRun.spawn(arguments, in: cgroup) } catch let error as CgroupError {
                watchers.stop()
                FileHandleOutput.standardError("procwatch: run: \(error)")
                throw ExitCode(2)
            } catch {
                watchers.stop()
                FileHandleOutput.standardError("procwatch: run: \(arguments[0]): \(error)")
                throw ExitCode(127)
            }
        }
        recorder.command = child
        // Waited for, not reaped: the zombie stays until the reader saw the exit (a /proc
        // scan reads its status from the zombie), then it is reaped.
        await ReaderThread.offPool {
            var info = siginfo_t()
            while waitid(P_PID, id_t(child), &info, WEXITED | WNOWAIT) == -1, errno == EINTR {}
        }
        // The exit event was sent before the child could be reaped; give the reader a moment.
        _ = await recorder.waitUntil(timeout: 2) { $0.members.contains { $0.pid == child && $0.end != nil } }
        let waited = await ReaderThread.offPool { () -> Int32? in
            var status: Int32 = 0
            var result: Int32
            repeat { result = waitpid(child, &status, 0) } while result == -1 && errno == EINTR
            return result == child ? status : nil
        }
        // The /proc scanner, as the subreaper, reaps every zombie child once it read its
        // status (orphans have nobody else): the command's is then in its exit event.
        let scanned = recorder.snapshot.members.first { $0.pid == child }?.status
        guard let exitStatus = waited.map({ ExitStatus(waitStatus: UInt32(bitPattern: $0)) }) ?? scanned else {
            watchers.stop()
            FileHandleOutput.standardError("procwatch: run: \(arguments[0]): its exit status could not be read")
            throw ExitCode(2)
        }
        if waitAll {
            // Every live member gone — by its exit event, or (if that event was lost) by
            // the kernel no longer knowing its pid.
            _ = await recorder.waitUntil(timeout: .infinity) { job in
                job.liveMembers.allSatisfy { kill($0.pid, 0) != 0 && errno == ESRCH }
            }
        }
        let wall = Clocks.monotonicSeconds() - started
        termination?.source?.cancel()
        // Read before the cgroup goes (the defer above).
        let cgroupUsage = cgroup?.usage()
        watchers.stop()
        client?.stop()
        // The daemon closed the connection during the run: the report is partial (said at once).
        let daemonFailure = await streaming?.value
        let job = recorder.snapshot
        var report = RunReport(command: arguments, status: exitStatus,
                               wallSeconds: wall, job: job, root: child, missing: missing)
        report.lostRecords = recorder.lostExitRecords
        report.limits = cgroup?.limits
        report.cgroupUsage = cgroupUsage
        if source.activeBackend == .procfs, daemon == nil {
            report.source = EventOrigin.procfs.rawValue
            (report.lostTasks, report.lostTasksUnknown) = recorder.lostTasks
        }
        report.shortNames = root.shortNames
        report.stripDirectory = root.stripDirectory
        // Cut to the terminal's width on one (or to --width); whole in a file or a pipe.
        report.width = output == nil ? root.lineWidth?.current : root.width
        let text = root.json ? report.json() : report.text()
        if let output {
            let descriptor = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else {
                FileHandleOutput.standardError("procwatch: run: cannot write \(output): \(String(cString: strerror(errno)))")
                throw ExitCode(2)
            }
            LineOutput(descriptor: descriptor).write(text)
            close(descriptor)
        } else {
            FileHandleOutput.standardOutput(text)
        }
        if let daemonFailure { throw ExitCode(daemonFailure.exitStatus) }
        if termination?.stop.hasFired == true {
            FileHandleOutput.standardError("procwatch: run: SIGTERM: the command's whole tree was killed")
            throw ExitCode(128 + SIGTERM)
        }
        switch report.status {
        case .exited(let code): throw ExitCode(code)
        case .signaled(let signal, _): throw ExitCode(128 + signal)
        }
    }
}

extension RunCommand {
    /// Ends a held command that never ran (its gate closes: it exits 127) and reaps it.
    static func reapUnrun(_ held: HeldCommand) {
        held.abandon()
        var status: Int32 = 0
        while waitpid(held.pid, &status, 0) == -1, errno == EINTR {}
    }
}

/// The job being run, updated on the reader thread, read by the command.
final class JobRecorder: Sendable {
    private let job: SharedJob
    private let commandPID = Atomic<Int32>(0)
    private let lostRecords = Atomic<Int>(0)
    private let lostScanned = Atomic<Int>(0)
    private let lostScannedUnknown = Atomic<Bool>(false)

    init(root: Int32) {
        job = SharedJob(Job(root: root, includeRoot: false))
    }

    /// A recorder of `job` as it is (through the daemon: rooted at the command itself).
    init(job: Job) {
        self.job = SharedJob(job)
    }

    var command: Int32 {
        get { commandPID.load(ordering: .acquiring) }
        set { commandPID.store(newValue, ordering: .releasing) }
    }

    var snapshot: Job { job.snapshot }

    /// Exit records the kernel dropped (their processes' CPU, memory and I/O are missing).
    var lostExitRecords: Int { lostRecords.load(ordering: .relaxed) }

    /// Tasks the /proc scanner missed, and whether some count was unknown.
    var lostTasks: (Int, Bool) { (lostScanned.load(ordering: .relaxed), lostScannedUnknown.load(ordering: .relaxed)) }

    func handle(_ enriched: EnrichedEvent) {
        if case .lost(let count, .taskstats, _) = enriched.event.detail {
            lostRecords.add(Swift.max(count ?? 1, 1), ordering: .relaxed)
        }
        if case .lost(let count, .scanGap, _) = enriched.event.detail {
            if let count { lostScanned.add(count, ordering: .relaxed) } else { lostScannedUnknown.store(true, ordering: .relaxed) }
        }
        job.withLock { _ = $0.apply(enriched) }
    }

    /// Polls `condition` every 20 ms until it holds or `timeout` seconds pass.
    func waitUntil(timeout: Double, _ condition: (Job) -> Bool) async -> Bool {
        let deadline = Clocks.monotonicSeconds() + timeout
        while Clocks.monotonicSeconds() < deadline {
            if job.withLock({ condition($0) }) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return job.withLock { condition($0) }
    }
}
