import ArgumentParser
import Glibc
import GRDB
import Testing
@testable import ProcWatch
@_spi(Benchmarks) @testable import ProcWatchCLI
@testable import ProcWatchStore

/// What the kernel-side (eBPF) source adds — `exec_failed`, an exec's kernel details, an
/// exit's kernel accounting — through the event contract, the store, `-e`, the text view,
/// and `--source`: events built by hand, no kernel, no BPF.
@Suite("Kernel-side events in the contract and front ends")
struct KernelSideEventTests {
    let stamp = EventTimestamp(monotonicNanoseconds: 5_000_000_000, unixNanoseconds: 1_795_383_915_899_078_000)

    /// bash (4000001, above pid_max: nothing real) trying to run a program that is not there.
    var failedExec: ProcessEvent {
        let failure = ExecFailure(path: "/usr/bin/nosuch", commandLine: ["nosuch", "arg1", "arg 2"], isCommandLineCut: false,
                                  errno: ENOENT)
        return ProcessEvent(detail: .execFailed(TaskID(pid: 4_000_001, tid: 4_000_001), failure), timestamp: stamp, cpu: 1)
    }

    let bash = ProcessRecord(pid: 4_000_001, parentPID: 1, name: "bash", commandLine: ["-bash"], executable: "/usr/bin/bash",
                             uid: 1000)

    /// A set-user-ID exec seen by the kernel side: real user 1000, effective root.
    func kernelExec(loginUID: UInt32? = 1000, cut: Bool = false, unresolved: Bool = false) -> ProcessEvent {
        let details = ExecDetails(commandLine: ["sudo", "-n", "true"], isCommandLineCut: cut,
                                  executable: unresolved ? "/dev/fd/3" : "/usr/bin/sudo", cgroupID: 4107, uid: 1000,
                                  effectiveUID: 0, gid: 1000, effectiveGID: 1000, loginUID: loginUID,
                                  isExecutableUnresolved: unresolved, name: "sudo")
        return ProcessEvent(detail: .exec(TaskID(pid: 4_000_002, tid: 4_000_002)), timestamp: stamp, cpu: 0, sequence: 9,
                            kernelDetails: KernelDetails(exec: details))
    }

    /// What the process table knew of 4000002 after that exec: /proc's view, read later
    /// (the program already rewrote its argv) — the kernel's must win.
    let sudo = ProcessRecord(pid: 4_000_002, parentPID: 4_000_001, name: "sudo", commandLine: ["sudo: rewritten"],
                             executable: "/usr/libexec/sudo-real", uid: 1000)

    var exitWithUsage: ProcessEvent {
        var usage = ResourceUsage()
        usage.userMicroseconds = 12_000
        usage.systemMicroseconds = 4_000
        usage.peakRSSKiB = 5_120
        usage.readBytes = 8_192
        usage.writeBytes = 4_096
        usage.readChars = 70_000
        usage.writeChars = 12
        return ProcessEvent(detail: .exit(TaskID(pid: 4_000_002, tid: 4_000_002), waitStatus: 256, exitSignal: 17,
                                          parent: TaskID(pid: 4_000_001, tid: 4_000_001)),
                            timestamp: stamp, cpu: 1, sequence: 10, kernelDetails: KernelDetails(usage: usage))
    }

    // MARK: The contract

    @Test func execFailedJSONLine() {
        #expect(JSONRenderer().render(ObservedEvent(event: failedExec, process: bash))
            == #"{"event":"exec_failed","time":"2026-11-22T21:45:15.899078Z","ktime_ns":5000000000,"cpu":1,"seq":0,"pid":4000001,"tid":4000001,"ppid":1,"comm":"bash","cmdline":["nosuch","arg1","arg 2"],"exe":"/usr/bin/bash","uid":1000,"path":"/usr/bin/nosuch","errno":2,"error":"ENOENT"}"#)
        // Without a process record, and with a cut argv: the event's own fields still.
        var cut = failedExec
        if case .execFailed(let task, var failure) = cut.detail {
            failure.isCommandLineCut = true
            failure.errno = EACCES
            cut.detail = .execFailed(task, failure)
        }
        #expect(JSONRenderer().render(ObservedEvent(event: cut))
            == #"{"event":"exec_failed","time":"2026-11-22T21:45:15.899078Z","ktime_ns":5000000000,"cpu":1,"seq":0,"pid":4000001,"tid":4000001,"cmdline":["nosuch","arg1","arg 2"],"cmdline_cut":true,"path":"/usr/bin/nosuch","errno":13,"error":"EACCES"}"#)
    }

    @Test func execWithKernelDetailsJSONLine() {
        #expect(JSONRenderer().render(ObservedEvent(event: kernelExec(), process: sudo))
            == #"{"event":"exec","time":"2026-11-22T21:45:15.899078Z","ktime_ns":5000000000,"cpu":0,"seq":9,"pid":4000002,"tid":4000002,"ppid":4000001,"euid":0,"egid":1000,"comm":"sudo","cmdline":["sudo","-n","true"],"exe":"/usr/bin/sudo","uid":1000,"gid":1000,"loginuid":1000,"cgroup_id":4107}"#)
        // An unset login uid is left out; a cut argv says so.
        #expect(JSONRenderer().render(ObservedEvent(event: kernelExec(loginUID: nil, cut: true)))
            == #"{"event":"exec","time":"2026-11-22T21:45:15.899078Z","ktime_ns":5000000000,"cpu":0,"seq":9,"pid":4000002,"tid":4000002,"euid":0,"egid":1000,"cmdline":["sudo","-n","true"],"cmdline_cut":true,"exe":"/usr/bin/sudo","uid":1000,"gid":1000,"cgroup_id":4107}"#)
        // An executable the kernel could not name as /proc/PID/exe does: the path it was run by, marked.
        #expect(JSONRenderer().render(ObservedEvent(event: kernelExec(loginUID: nil, unresolved: true)))
            == #"{"event":"exec","time":"2026-11-22T21:45:15.899078Z","ktime_ns":5000000000,"cpu":0,"seq":9,"pid":4000002,"tid":4000002,"euid":0,"egid":1000,"cmdline":["sudo","-n","true"],"exe":"/dev/fd/3","exe_unresolved":true,"uid":1000,"gid":1000,"cgroup_id":4107}"#)
        // The same exec from the connector: the process table's fields, as before.
        let connector = ProcessEvent(detail: .exec(TaskID(pid: 4_000_002, tid: 4_000_002)), timestamp: stamp, cpu: 0, sequence: 9)
        #expect(JSONRenderer().render(ObservedEvent(event: connector, process: sudo))
            == #"{"event":"exec","time":"2026-11-22T21:45:15.899078Z","ktime_ns":5000000000,"cpu":0,"seq":9,"pid":4000002,"tid":4000002,"ppid":4000001,"comm":"sudo","cmdline":["sudo: rewritten"],"exe":"/usr/libexec/sudo-real","uid":1000}"#)
    }

    @Test func exitWithUsageJSONLine() {
        let process = ProcessRecord(pid: 4_000_002, parentPID: 4_000_001, name: "sudo", commandLine: ["sudo", "-n", "true"],
                                    startNanoseconds: 4_996_000_000, endNanoseconds: 5_000_000_000)
        #expect(JSONRenderer().render(ObservedEvent(event: exitWithUsage, process: process))
            == #"{"event":"exit","time":"2026-11-22T21:45:15.899078Z","ktime_ns":5000000000,"cpu":1,"seq":10,"pid":4000002,"tid":4000002,"ppid":4000001,"ptid":4000001,"thread":false,"comm":"sudo","cmdline":["sudo","-n","true"],"exit_code":256,"exit_signal":17,"status":{"exited":1},"duration_s":0.004000,"cpu_user_us":12000,"cpu_system_us":4000,"peak_rss_kb":5120,"read_bytes":8192,"write_bytes":4096,"read_chars":70000,"write_chars":12}"#)
    }

    @Test func ringBufferLossNeedsNothingNew() {
        let loss = ProcessEvent(detail: .lost(count: 17, reason: .ringBuffer, cpu: nil), timestamp: stamp)
        #expect(JSONRenderer().render(ObservedEvent(event: loss))
            == #"{"event":"lost","time":"2026-11-22T21:45:15.899078Z","ktime_ns":5000000000,"count":17,"reason":"ringbuf"}"#)
    }

    // MARK: The store

    /// The three events recorded: every new field in its column, and the report reads them.
    @Test func recordedRowsCarryTheNewFields() throws {
        let path = StoreWorkload.temporaryPath("kernel-side.db")
        defer { StoreWorkload.remove(path) }
        try recordKernelSideEvents(into: path)
        #expect(try StoreWorkload.rows(path, """
            SELECT event, pid, comm, cmdline, cmdline_cut, exe, exe_unresolved, uid, euid, gid, egid, loginuid, cgroup_id, path, errno, error
            FROM events ORDER BY id
            """) == [
                #"exec_failed|4000001|bash|["nosuch","arg1","arg 2"]|-|/usr/bin/bash|-|1000|-|-|-|-|-|/usr/bin/nosuch|2|ENOENT"#,
                #"exec|4000002|sudo|["sudo","-n","true"]|1|/dev/fd/3|1|1000|0|1000|1000|1000|4107|-|-|-"#,
                #"exit|4000002|sudo|["sudo","-n","true"]|-|-|-|-|-|-|-|-|-|-|-|-"#,
            ])
        #expect(try StoreWorkload.rows(path, """
            SELECT event, cpu_user_us, cpu_system_us, peak_rss_kb, read_bytes, write_bytes, read_chars, write_chars
            FROM events ORDER BY id
            """) == ["exec_failed|-|-|-|-|-|-|-", "exec|-|-|-|-|-|-|-", "exit|12000|4000|5120|8192|4096|70000|12"])
        let report = try ReportReader.load(path: path)
        #expect(report.eventCounts == ["exec_failed": 1, "exec": 1, "exit": 1])
    }

    /// A file recorded before these fields existed (their columns dropped again) is reported
    /// as it is, and `record` appends to it, adding the columns; the schema version stays 1.
    @Test func aFileWithoutTheNewColumnsIsReadAndAppendedTo() throws {
        let path = StoreWorkload.temporaryPath("before-kernel-side.db")
        defer { StoreWorkload.remove(path) }
        try StoreWorkload.record(into: path)
        let added = ["cmdline_cut", "exe_unresolved", "gid", "loginuid", "cgroup_id", "path", "errno", "error", "cpu_user_us", "cpu_system_us",
                     "peak_rss_kb", "read_bytes", "write_bytes", "read_chars", "write_chars"]
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            for column in added { try db.execute(sql: "ALTER TABLE events DROP COLUMN \(column)") }
        }
        try queue.close()
        #expect(try ReportReader.load(path: path).processes.count == 3)
        try recordKernelSideEvents(into: path)
        #expect(try StoreWorkload.rows(path, "PRAGMA user_version") == ["1"])
        let columns = try StoreWorkload.rows(path, "SELECT name FROM pragma_table_info('events')")
        #expect(added.allSatisfy(columns.contains), "\(columns)")
        #expect(try StoreWorkload.rows(path, "SELECT recording, count(*), count(errno), count(cgroup_id), count(cpu_user_us) FROM events GROUP BY recording")
            == ["1|13|0|0|0", "2|3|1|1|1"])
        let report = try ReportReader.load(path: path)
        #expect(report.processes.count == 5)
        #expect(report.eventCounts["exec_failed"] == 1)
    }

    /// A new file's `events` table is made from the contract's fields: one column each, of
    /// the field's name, `ancestry` aside.
    @Test func aNewFileHasAColumnPerContractField() throws {
        let path = StoreWorkload.temporaryPath("columns.db")
        defer { StoreWorkload.remove(path) }
        try recordKernelSideEvents(into: path)
        let columns = try StoreWorkload.rows(path, "SELECT name FROM pragma_table_info('events')")
        #expect(columns == ["id", "recording", "process"] + EventField.allCases.filter { $0 != .ancestry }.map { "\($0.name)" })
        #expect(try StoreWorkload.rows(path, "SELECT name FROM pragma_table_info('events') WHERE \"notnull\"") == ["recording", "event", "time", "ktime_ns"])
    }

    func recordKernelSideEvents(into path: String) throws {
        let recorder = try StoreWorkload.recorder(path, taskstats: false)
        let (base, at) = StoreWorkload.clock()
        func atTime(_ event: ProcessEvent, _ milliseconds: UInt64) -> ProcessEvent {
            var event = event
            event.timestamp = at(milliseconds)
            return event
        }
        recorder.record(EnrichedEvent(event: atTime(failedExec, 1), process: bash))
        let started = ProcessRecord(pid: 4_000_002, parentPID: 4_000_001, name: "sudo", commandLine: ["sudo", "-n", "true"],
                                    startNanoseconds: base + 2_000_000)
        recorder.record(EnrichedEvent(event: atTime(kernelExec(cut: true, unresolved: true), 2), process: started))
        var ended = started
        ended.endNanoseconds = base + 3_000_000
        recorder.record(EnrichedEvent(event: atTime(exitWithUsage, 3), process: ended))
        usleep(10_000)  // the recording ends after the last event
        try recorder.finish(reason: "signal")
    }

    // MARK: Selection

    @Test func execfailSelectsFailedExecs() throws {
        for name in ["execfail", "exec_failed"] {
            let selection = try EventSelection(parsing: name)
            #expect(selection.kinds == ProcessEventKinds(rawValue: EventKind.execFailed.rawValue), "\(name)")
            #expect(selection.shows(failedExec), "\(name)")
            #expect(!selection.shows(kernelExec()), "\(name)")
        }
        #expect(!(try EventSelection(parsing: "exec")).shows(failedExec))
        #expect(try EventSelection(parsing: "all").shows(failedExec))
        #expect(try EventSelection(parsing: "exec,execfail").kinds == [.exec, ProcessEventKinds(rawValue: EventKind.execFailed.rawValue)])
        #expect(throws: SelectionError(name: "execfailed")) { try EventSelection(parsing: "execfail,execfailed") }
        #expect(SelectionError(name: "x").description
            == "unknown event 'x' in -e; known: fork, clone, exec, exit, core, coredump, comm, ptrace, uid, gid, sid, execfail, exec_failed, nonzeroexit, failed_exit, all")
    }

    /// The statistics count failed execs per calling command; the column shows only when
    /// one was counted (from the connector, which sends none, a 0 would claim too much).
    @Test func statisticsCountFailedExecsInTheirOwnColumn() {
        var statistics = Statistics()
        let process = ProcessRecord(pid: 4_000_002, parentPID: 4_000_001, name: "sudo", commandLine: ["/usr/bin/sudo", "-n", "true"])
        statistics.count(ObservedEvent(event: kernelExec(), process: process))
        #expect(statistics.report(seconds: 0).split(separator: "\n").first
            == "   Fork    Exec    Exit    Core    Comm   Clone  Ptrace     UID     GID     SID   Total Process")
        statistics.count(ObservedEvent(event: failedExec, process: bash))
        let lines = statistics.report(seconds: 0).split(separator: "\n").map(String.init)
        #expect(Array(lines.prefix(4)) == [
            "   Fork    Exec    Exit    Core    Comm   Clone  Ptrace     UID     GID     SID Execfail   Total Process",
            "      0       0       0       0       0       0       0       0       0       0        1       1 -bash",
            "      0       1       0       0       0       0       0       0       0       0        0       1 sudo",
            "      0       1       0       0       0       0       0       0       0       0        1       2 (all)",
        ])
    }

    // MARK: Text view

    @Test func execFailedTextLine() {
        let observed = ObservedEvent(event: failedExec, process: bash)
        // INFO (24 wide) then an empty DURATION (9), then what could not be run.
        #expect(TextRenderer(style: .init()).render(observed)
            == "21:45:15.899078 execfail 4000001       1 exec failed ENOENT" + String(repeating: " ", count: 17) + "/usr/bin/nosuch arg1 arg 2")
        var style = TextRenderer.Style()
        style.glyphs = true
        style.colour = true
        #expect(TextRenderer(style: style).render(observed).hasPrefix("\u{1B}[31m21:45:15.899078 ✗ execfail 4000001"))
        style = TextRenderer.Style()
        style.name = .short
        style.stripDirectory = true
        #expect(TextRenderer(style: style).render(observed).hasSuffix("exec failed ENOENT                 nosuch"))
        // Cut to the width like an exec's command line: the arguments give way.
        style = TextRenderer.Style()
        style.width = LineWidth(columns: 80)
        let cut = TextRenderer(style: style).render(observed)
        #expect(cut == "21:45:15.899078 execfail 4000001       1 exec failed ENOENT                 /us…")
        #expect(cut.count == 80)
    }

    @Test func execWithKernelDetailsRendersItsKernelCommandLine() {
        let renderer = TextRenderer(style: .init())
        let line = renderer.render(ObservedEvent(event: kernelExec(), process: sudo, previousName: "bash"))
        #expect(line == "21:45:15.899078 exec     4000002 4000001 was bash" + String(repeating: " ", count: 27) + "sudo -n true")
        // Without a process record too (a process gone before the table heard of it).
        #expect(renderer.render(ObservedEvent(event: kernelExec())).hasSuffix(" sudo -n true"))
    }

    // MARK: --source

    @Test func sourceIsAnOptionOfEveryCommandThatWatches() throws {
        func backend(_ arguments: [String]) throws -> ProcessEventSource.Backend {
            let command = try ProcWatchCommand.parseAsRoot(arguments)
            switch command {
            case let root as ProcWatchCommand: return root.sourcing.backend
            case let stats as StatsCommand: return stats.root.sourcing.backend
            case let run as RunCommand: return run.root.sourcing.backend
            case let jobs as JobsCommand: return jobs.root.sourcing.backend
            default: Issue.record("\(type(of: command))"); return .auto
            }
        }
        // `auto`, given or not, lets the library decide.
        #expect(try backend([]) == .auto)
        #expect(try backend(["--source", "auto"]) == .auto)
        #expect(try backend(["--source", "bpf"]) == .bpf)
        #expect(try backend(["--source", "connector", "-e", "exec"]) == .connector)
        #expect(try backend(["stats", "--source", "bpf"]) == .bpf)
        #expect(try backend(["--source", "bpf", "stats"]) == .bpf)
        #expect(try backend(["run", "--source", "connector", "--", "true"]) == .connector)
        #expect(try backend(["jobs", "--group", "a=^a$", "--source", "bpf"]) == .bpf)
    }

    @Test func aBadSourceIsOneLineAndExitStatus64() {
        do {
            _ = try ProcWatchCommand.parseAsRoot(["--source", "ebpf"])
            Issue.record("--source ebpf parsed")
        } catch {
            #expect(ProcWatchCommand.message(for: error)
                == "The value 'ebpf' is invalid for '--source <SOURCE>'. Please provide one of 'auto', 'bpf', 'connector' or 'procfs'.")
            #expect(ProcWatchCommand.exitCode(for: error).rawValue == 64)
        }
    }

    /// Each watching command's help names `--source`.
    @Test func helpNamesSource() throws {
        for arguments in [["--help"], ["help", "stats"], ["help", "run"], ["help", "jobs"], ["help", "record"]] {
            let run = try Spawn.capture(["/usr/bin/env", "COLUMNS=80", Spawn.procwatchBinary] + arguments)
            #expect(run.status == 0, "\(arguments): \(run.stderr)")
            #expect(run.stdout.contains("--source"), "\(arguments)")
        }
    }

    /// As the binaries say it: `record` (forwarded to procwatch-store) takes `--source`,
    /// `report`, which watches nothing, refuses it.
    @Test(arguments: [
        (["--source", "kernel"], "procwatch: The value 'kernel' is invalid for '--source <SOURCE>'. Please provide one of 'auto', 'bpf', 'connector' or 'procfs'.\n"),
        (["record", "-o", "/nonexistent-dir/x.db", "--source", "kernel"], "procwatch: The value 'kernel' is invalid for '--source <SOURCE>'. Please provide one of 'auto', 'bpf', 'connector' or 'procfs'.\n"),
        (["report", "x.db", "--source", "bpf"], "procwatch: report does not take --source\n"),
    ])
    func sourceErrorsFromTheBinary(_ arguments: [String], _ message: String) throws {
        let run = try Spawn.capture([Spawn.procwatchBinary] + arguments)
        #expect(run.status == 64 << 8, "\(arguments): \(run.stderr)")
        #expect(run.stderr == message)
        #expect(run.stdout.isEmpty)
    }
}

extension LiveKernelTests.CommandLineTests {
    /// `--source connector` watches as the live view always did, and says which source it uses.
    @Test func sourceConnectorWatchesAsBefore() throws {
        var child: Int32 = 0
        let run = try watch(["--source", "connector", "--json", "-e", "exec"]) {
            child = try Spawn.run(["/bin/sh", "-c", "sleep 0.05"]).pid
        }
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr == SourceLine.connector)
        #expect(try jsonLines(run.stdout).contains { $0["pid"] as? Int == Int(child) && $0["cmdline"] as? [String] == ["/bin/sh", "-c", "sleep 0.05"] },
                "\(run.stdout)")
    }
}

extension LiveKernelTests.RecordCommandTests {
    /// `record --source connector`, forwarded to procwatch-store, records the command's tree.
    @Test func recordTakesSource() throws {
        let path = StoreWorkload.temporaryPath("source.db")
        defer { StoreWorkload.remove(path) }
        let run = try Spawn.capture([Spawn.procwatchBinary, "record", "--source", "connector", "-o", path, "--", "/bin/sh", "-c", "exit 3"])
        #expect(run.status >> 8 == 3, "the command's status; stderr: \(run.stderr)")
        #expect(run.stderr == SourceLine.connector)
        #expect(try rows(path, "SELECT event FROM events WHERE pid = (SELECT min(pid) FROM processes) AND thread IS NOT 1 ORDER BY id")
            == ["fork", "exec", "exit"])
    }
}
