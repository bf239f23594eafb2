import Testing
@testable import ProcWatch
@testable import ProcWatchCLI

/// `procwatch run`'s report built from a scripted job (no kernel).
@Suite("Run report")
struct RunReportTests {
    /// A job whose root (pid 42) exited 3 before /proc could give its command line:
    /// the table knew only its name.
    func exitedRoot(named name: String) -> Job {
        var job = Job(root: 42, rootRecord: ProcessRecord(pid: 42, parentPID: 1, name: name, startNanoseconds: 1_000_000_000))
        let exit = ProcessEvent(detail: .exit(TaskID(pid: 42, tid: 42), waitStatus: 3 << 8, exitSignal: 17, parent: TaskID(pid: 1, tid: 1)),
                                timestamp: EventTimestamp(monotonicNanoseconds: 1_250_000_000, unixNanoseconds: 0))
        job.apply(exit, record: nil)
        return job
    }

    @Test func rootWithoutACommandLineIsNamedByTheCommandProcwatchStarted() {
        let report = RunReport(command: ["/bin/sh", "-c", "exit 3"], status: .exited(3), wallSeconds: 0.5,
                               job: exitedRoot(named: "sh"), root: 42, missing: "refused")
        #expect(report.json() == #"{"command":["/bin/sh","-c","exit 3"],"exit_status":{"exited":3},"wall_s":0.500000,"cpu_user_s":null,"cpu_system_s":null,"peak_rss_kb":null,"read_bytes":null,"write_bytes":null,"unavailable":"refused","processes":1,"lost_records":0,"threads":0,"failed":[{"pid":42,"cmdline":["/bin/sh","-c","exit 3"],"status":{"exited":3}}],"tree":{"pid":42,"cmdline":["/bin/sh","-c","exit 3"],"duration_s":0.250000,"cpu_s":0.000,"tree_cpu_s":0.000,"status":{"exited":3},"children":[]}}"#)
        #expect(report.text().contains("\n  failed     42 /bin/sh -c exit 3 (exit 3)\n"), "\(report.text())")
    }

    @Test func rootThatExecdAnotherProgramKeepsItsOwnName() {
        // `sh -c 'exec true'`: the root ends as `true`, which is not the command procwatch started.
        let report = RunReport(command: ["/bin/sh", "-c", "exec true"], status: .exited(3), wallSeconds: 0.5,
                               job: exitedRoot(named: "true"), root: 42, missing: "refused")
        #expect(report.json().contains(#""failed":[{"pid":42,"cmdline":["true"],"status":{"exited":3}}]"#), "\(report.json())")
    }
}
