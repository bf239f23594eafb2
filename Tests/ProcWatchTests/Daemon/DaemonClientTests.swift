import Glibc
import Testing
@testable import ProcWatch
@testable import ProcWatchCLI

/// `procwatch --connect` against a fake daemon (Support/FakeDaemon.swift): the selection it
/// sends for given options, what each view makes of the daemon's lines, and every way the
/// connection can fail — each one line and an exit status. No kernel, no root, except the
/// auto-use test inside `unshare -n`.
@Suite("procwatch --connect", .serialized)
struct DaemonClientTests {
    static let lines = [
        #"{"event":"exec","time":"2026-11-25T10:00:00.000002Z","ktime_ns":1000001000,"cpu":1,"seq":0,"pid":4243,"tid":4243,"ppid":4200,"euid":0,"egid":1000,"comm":"sudo","cmdline":["sudo","-n","true"],"exe":"/usr/bin/sudo","uid":1000,"gid":1000,"loginuid":1000,"cgroup_id":4107}"#,
        #"{"event":"exit","time":"2026-11-25T10:00:00.000003Z","ktime_ns":1000002000,"cpu":1,"seq":0,"pid":4243,"tid":4243,"ppid":4200,"ptid":4200,"thread":false,"comm":"sudo","cmdline":["sudo","-n","true"],"exe":"/usr/bin/sudo","uid":0,"exit_code":256,"exit_signal":17,"status":{"exited":1},"duration_s":0.004000,"cpu_user_us":1000,"cpu_system_us":2000,"peak_rss_kb":5120,"read_bytes":0,"write_bytes":0,"read_chars":4096,"write_chars":12}"#,
        #"{"event":"lost","time":"2026-11-22T22:54:17.002113Z","ktime_ns":5314638009871,"count":12,"reason":"backlog"}"#,
    ]

    /// Runs `procwatch ARGUMENTS` (in UTC, without colour) against `daemon`.
    func procwatch(_ arguments: [String], environment: [String] = []) throws -> (status: Int32, stdout: String, stderr: String) {
        let run = try Spawn.capture(["/usr/bin/env", "TZ=UTC", "NO_COLOR=1", "SWIFT_BACKTRACE=enable=no"] + environment
                                    + [Spawn.procwatchBinary] + arguments)
        return (run.status, run.stdout, run.stderr)
    }

    @Test func jsonLinesAreTheDaemonsBytes() throws {
        let daemon = try FakeDaemon(events: Self.lines)
        let run = try procwatch(["--connect", daemon.path, "--json", "-e", "all", "-D", "1"])
        #expect(run.status == 0)
        #expect(run.stdout == Self.lines.joined(separator: "\n") + "\n")
        #expect(run.stderr == "procwatch: source: daemon \(daemon.path) (bpf; all processes)\n")
        #expect(daemon.selection == #"{"protocol":1,"events":["all"]}"#)
    }

    @Test(arguments: [
        ([String](), #"{"protocol":1}"#),
        (["-X"], #"{"protocol":1,"events":["all"]}"#),
        (["-e", "exec, nonzeroexit,execfail", "--pid", "1"], #"{"protocol":1,"events":["exec","nonzeroexit","execfail"],"pids":[1]}"#),
        (["-e", "exec,exit", "--tree", "1", "--comm", "^(cc1|ld)$", "--user", "root"],
         #"{"protocol":1,"events":["exec","exit"],"trees":[1],"comm":"^(cc1|ld)$","users":[0]}"#),
        (["stats", "-E", "--user", "0", "--interval", "5"], #"{"protocol":1,"events":["all"],"users":[0]}"#),
    ])
    func theSelectionIsTheCommandsOptions(_ options: [String], _ selection: String) throws {
        let daemon = try FakeDaemon()
        let run = try procwatch(["--connect", daemon.path, "-q", "-D", "0.3"].filter { !(options.first == "stats" && $0 == "-q") } + options)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(daemon.selection == selection)
    }

    @Test func textLinesAndTheVisibilityOfAnUnprivilegedClient() throws {
        let daemon = try FakeDaemon(
            hello: #"{"procwatch":"daemon","protocol":1,"version":"0.1.0","source":"connector","visibility":"own","uid":1000}"#,
            events: Self.lines)
        let run = try procwatch(["--connect", daemon.path, "-D", "1"])
        #expect(run.status == 0)
        #expect(run.stdout == """
            TIME            EVENT        PID    PPID INFO                      DURATION PROCESS
            10:00:00.000002 exec        4243    4200                                    sudo -n true
            10:00:00.000003 exit        4243    4200 exit 1                      0.004s sudo -n true
            22:54:17.002113 lost                     lost 12 events (backlog)

            """)
        #expect(run.stderr == "procwatch: source: daemon \(daemon.path) (connector; your processes only)\n")
    }

    @Test func quietStatisticsCountTheDaemonsEvents() throws {
        let daemon = try FakeDaemon(events: Self.lines)
        let run = try procwatch(["--connect", daemon.path, "-q", "-D", "1"])
        #expect(run.status == 0)
        let table = run.stdout.split(separator: "\n").map(String.init)
        #expect(Array(table.prefix(3)) == [
            "   Fork    Exec    Exit    Core    Comm   Clone  Ptrace     UID     GID     SID   Total Process",
            "      0       1       1       0       0       0       0       0       0       0       2 sudo",
            "      0       1       1       0       0       0       0       0       0       0       2 (all)",
        ])
        #expect(table.suffix(2) == ["Failed exits: 1: sudo [4243] exit 1", "Lost events: 12 (1 loss reports)"])
    }

    static let runEvents = [
        #"{"event":"exec","time":"2026-11-25T10:00:00.000002Z","ktime_ns":1000001000,"cpu":1,"seq":0,"pid":PID,"tid":PID,"ppid":1,"euid":0,"egid":0,"comm":"true","cmdline":["true"],"exe":"/usr/bin/true","uid":0,"gid":0,"cgroup_id":1}"#,
        #"{"event":"exit","time":"2026-11-25T10:00:00.000003Z","ktime_ns":1000002000,"cpu":1,"seq":0,"pid":PID,"tid":PID,"ppid":1,"ptid":1,"thread":false,"comm":"true","cmdline":["true"],"exe":"/usr/bin/true","uid":0,"exit_code":0,"exit_signal":17,"status":{"exited":0},"duration_s":0.001000,"cpu_user_us":1000,"cpu_system_us":2000,"peak_rss_kb":5120,"read_bytes":0,"write_bytes":0,"read_chars":4096,"write_chars":12}"#,
    ]

    /// `run` names its held command's pid in the selection; the daemon's events for that pid
    /// make the report, and the command's own status is procwatch's.
    @Test func runFollowsItsCommandThroughTheDaemon() throws {
        let daemon = try FakeDaemon(events: Self.runEvents)
        let run = try procwatch(["--connect", daemon.path, "run", "--json", "--", "true"])
        #expect(run.status == 0, "\(run.stderr)")
        let selection = try #require(daemon.selection)
        let pid = try #require(Int32(selection.split(separator: "[").last?.dropLast(2) ?? ""))
        #expect(selection == #"{"protocol":1,"events":["fork","clone","exec","comm","exit"],"trees":[\#(pid)]}"#)
        #expect(run.stdout.hasPrefix(#"{"command":["true"],"exit_status":{"exited":0},"wall_s":"#))
        #expect(run.stdout.contains(#""cpu_user_s":0.001,"cpu_system_s":0.002,"peak_rss_kb":5120,"read_bytes":0,"write_bytes":0,"processes":1,"lost_records":0,"threads":0,"failed":[],"tree":{"pid":\#(pid),"cmdline":["true"],"cpu_s":0.003,"#))
        #expect(run.stderr == "procwatch: source: daemon \(daemon.path) (bpf; all processes)\n")
    }

    @Test func runExitsWithItsCommandsStatus() throws {
        let daemon = try FakeDaemon()
        let run = try procwatch(["--connect", daemon.path, "run", "--", "sh", "-c", "exit 3"])
        #expect(run.status == 3 << 8)
        let missing = try procwatch(["--connect", try FakeDaemon().path, "run", "--", "/nonexistent/command"])
        #expect(missing.status == 127 << 8)
        #expect(missing.stderr.hasSuffix("procwatch: run: /nonexistent/command: No such file or directory\n"))
    }

    @Test(arguments: [
        (#"{"hello":"world"}"#, #"{"ok":true}"#, "PATH is not a procwatch daemon: its first line is not a procwatch hello", Int32(2)),
        (#"{"procwatch":"daemon","protocol":2,"source":"bpf","visibility":"all","uid":0}"#, #"{"ok":true}"#,
         "the daemon at PATH speaks protocol 2; this procwatch speaks 1", 2),
        (#"{"procwatch":"daemon","protocol":1,"source":"bpf","visibility":"all","uid":0}"#,
         #"{"error":"unknown event 'teleport' in events"}"#, "unknown event 'teleport' in events", 2),
        (#"{"procwatch":"daemon","protocol":1,"source":"bpf","visibility":"all","uid":0}"#, #"{"maybe":true}"#,
         "the daemon at PATH answered the selection with neither ok nor an error", 2),
    ])
    func handshakeFailuresAreOneLine(_ hello: String, _ answer: String, _ message: String, _ status: Int32) throws {
        let daemon = try FakeDaemon(hello: hello, answer: answer, hold: 0)
        let run = try procwatch(["--connect", daemon.path, "-D", "5"])
        #expect(run.status == status << 8)
        #expect(run.stderr == "procwatch: \(message.replacing("PATH", with: daemon.path))\n")
        #expect(run.stdout.isEmpty)
    }

    @Test func aClosedConnectionEndsTheWatch() throws {
        let daemon = try FakeDaemon(events: [Self.lines[0]], hold: 0)
        let run = try procwatch(["--connect", daemon.path, "--json", "-D", "10"])
        #expect(run.status == 1 << 8)
        #expect(run.stdout == Self.lines[0] + "\n")
        #expect(run.stderr == "procwatch: source: daemon \(daemon.path) (bpf; all processes)\nprocwatch: the daemon closed the connection\n")
    }

    @Test func aLineThatIsNoEventEndsTheWatch() throws {
        let daemon = try FakeDaemon(events: [#"{"event":"exec"}"#])
        let run = try procwatch(["--connect", daemon.path, "--json", "-D", "10"])
        #expect(run.status == 2 << 8)
        #expect(run.stderr.hasSuffix("procwatch: the daemon at \(daemon.path) sent a line that is not an event: no \"time\"\n"))
    }

    @Test func noSocketIsOneLine() throws {
        let run = try procwatch(["--connect", "/nonexistent/procwatch.sock", "-D", "1"])
        #expect(run.status == 2 << 8)
        #expect(run.stderr == "procwatch: no procwatch daemon at /nonexistent/procwatch.sock: no such socket\n")
        let bare = try procwatch(["--connect", "-D", "1"], environment: ["PROCWATCH_SOCKET=/nonexistent/default.sock"])
        #expect(bare.stderr == "procwatch: no procwatch daemon at /nonexistent/default.sock: no such socket\n")
    }

    @Test(arguments: [
        (["--connect", "/x", "--source", "bpf"], "procwatch: --connect and --source cannot be combined: the daemon has its own source\n"),
        (["jobs", "--connect", "/x"], "procwatch: jobs does not take --connect\n"),
    ])
    func connectIsRefusedWhereItCannotApply(_ arguments: [String], _ message: String) throws {
        let run = try procwatch(arguments)
        #expect(run.status == 64 << 8)
        #expect(run.stderr == message)
    }

    /// In another network namespace the kernel refuses the subscription (and BPF is switched
    /// off): with a daemon's socket there, procwatch uses it and says why; without one, it
    /// scans the namespace's /proc itself and says so.
    @Test(.enabled(if: getuid() == 0, "unshare needs root"))
    func theDaemonServesAUserTheKernelRefused() throws {
        let daemon = try FakeDaemon(events: Self.lines)
        let run = try Spawn.capture(["unshare", "-n", "/usr/bin/env", "PROCWATCH_SOCKET=\(daemon.path)", "PROCWATCH_TEST_BPF_REFUSAL=test",
                                     Spawn.procwatchBinary, "--json", "-e", "all", "-D", "1"])
        #expect(run.status == 0)
        #expect(run.stdout == Self.lines.joined(separator: "\n") + "\n")
        #expect(run.stderr == "procwatch: source: daemon \(daemon.path) (bpf; all processes; the kernel refused this user's subscription: \(ProcWatchError.otherNetworkNamespace))\n")
        let alone = try Spawn.capture(["unshare", "-n", "/usr/bin/env", "PROCWATCH_SOCKET=/nonexistent.sock", "PROCWATCH_TEST_BPF_REFUSAL=test",
                                       Spawn.procwatchBinary, "-D", "1"])
        #expect(alone.status == 0)
        #expect(alone.stderr.hasPrefix("procwatch: source: procfs (in a network namespace of its own: BPF unavailable: test; the connector: \(ProcWatchError.otherNetworkNamespace); scanning this namespace's /proc every 10 ms"), "\(alone.stderr)")
    }
}
