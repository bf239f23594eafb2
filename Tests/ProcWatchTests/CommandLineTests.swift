import Foundation
import Glibc
import Testing
@testable import ProcWatch

extension LiveKernelTests {
    /// The `procwatch` binary, run as a user would, against the real kernel.
    @Suite("procwatch command")
    struct CommandLineTests {
        /// Runs `procwatch ARGS` while `workload` runs (started once procwatch listens).
        func watch(_ arguments: [String], duration: String = "2",
                   workload: () throws -> Void) throws -> (status: Int32, stdout: String, stderr: String) {
            let run = try Spawn.capture([Spawn.procwatchBinary] + arguments + ["-D", duration], started: true) { _ in
                usleep(200_000)  // the process table is seeded before the first event is read
                try workload()
            }
            return (run.status, run.stdout, run.stderr)
        }

        /// A copy of /bin/sleep under a name no other process on the host has: `jobs` rules
        /// also claim processes running before the watch, and the host may run sleeps of its own.
        func privateSleep() throws -> (path: String, name: String, remove: () -> Void) {
            try privateCopy(of: "/bin/sleep", namedLike: "pwnap")
        }

        /// A copy of `program` named `prefix` and a random number, in a directory of its own.
        func privateCopy(of program: String, namedLike prefix: String) throws -> (path: String, name: String, remove: () -> Void) {
            let directory = "/tmp/procwatch-\(prefix)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            mkdir(directory, 0o755)
            let name = "\(prefix)\(UInt16.random(in: 1000...UInt16.max))"
            let path = directory + "/" + name
            let copy = try Spawn.run(["cp", program, path])
            try #require(copy.status == 0)
            return (path, name, { _ = try? Spawn.run(["rm", "-rf", directory]) })
        }

        /// Starts `/bin/sh -c script` held at a FIFO until `release` is called, so that
        /// nothing it does happens before procwatch listens.
        func gatedRoot(_ script: String) throws -> (pid: Int32, release: () -> Void) {
            let gate = FIFOGate()
            let pid = try Spawn.start(["/bin/sh", "-c", "read go < \(gate.path); rm -f \(gate.path); \(script)"])
            return (pid, gate.release)
        }

        func jsonLines(_ text: String) throws -> [[String: Any]] {
            try text.split(separator: "\n").map { line in
                try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(line)")
            }
        }

        @Test func jsonFollowsTheContractForAKnownTree() throws {
            // Each process lives a few milliseconds, long enough for /proc to be read at exec.
            var root: Int32 = 0
            let script = "sleep 0.05; /bin/sh -c 'sleep 0.05; exit 3'; exit 5"
            let run = try watch(["--json"]) {
                root = try Spawn.run(["/bin/sh", "-c", script]).pid
            }
            #expect(run.status == 0, "stderr: \(run.stderr)")
            let events = try jsonLines(run.stdout)
            let tree = events.filter { ($0["pid"] as? Int).map { Int32($0) } == root || ($0["ppid"] as? Int).map { Int32($0) } == root }
            let summary = tree.filter { $0["thread"] as? Bool != true }
                .map { "\($0["event"]!) \(($0["cmdline"] as? [String])?.joined(separator: " ") ?? "-")" }
            #expect(Array(summary.dropFirst()) == [  // the first is root's fork, named after the test runner
                "exec /bin/sh -c \(script)",
                "fork /bin/sh -c \(script)",
                "exec sleep 0.05",
                "exit sleep 0.05",
                "fork /bin/sh -c \(script)",
                "exec /bin/sh -c sleep 0.05; exit 3",
                "exit /bin/sh -c sleep 0.05; exit 3",
                "exit /bin/sh -c \(script)",
            ], "\(summary)")
            let failed = try #require(tree.first { $0["event"] as? String == "exit" && ($0["cmdline"] as? [String]) == ["/bin/sh", "-c", "sleep 0.05; exit 3"] })
            #expect(failed["exit_code"] as? Int == 768)
            #expect(failed["exit_signal"] as? Int == 17)
            #expect(failed["status"] as? [String: Int] == ["exited": 3])
            #expect(failed["comm"] as? String == "sh")
            #expect(failed["exe"] as? String == "/usr/bin/dash")
            #expect(failed["thread"] as? Bool == false)
            #expect(failed["uid"] as? Int == 0)
            #expect(failed["ppid"] as? Int == Int(root))
            #expect((failed["duration_s"] as? Double ?? -1) >= 0)
            #expect((failed["time"] as? String)?.hasSuffix("Z") == true)
            #expect((failed["time"] as? String)?.count == 27)
            for key in ["ktime_ns", "cpu", "seq", "pid", "tid", "ptid"] { #expect(failed[key] is Int, "\(key)") }
            for absent in ["ruid", "sid", "tracer_pid", "count", "reason"] { #expect(failed[absent] == nil, "\(absent)") }
            let rootExit = try #require(tree.last)
            #expect(rootExit["status"] as? [String: Int] == ["exited": 5])
        }

        @Test func shortLivedProcessesAreNamedOnEveryLine() throws {
            // /bin/true is often gone before /proc can be read at its exec: its exit record
            // (taskstats) names it, and its exec line waits for that name.
            let gate = try gatedRoot("for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do /bin/true; done")
            let run = try watch(["--json", "--tree", "\(gate.pid)", "-e", "exec,exit"]) {
                gate.release()
                Spawn.wait(gate.pid)
            }
            let events = try jsonLines(run.stdout).filter { ($0["ppid"] as? Int) == Int(gate.pid) }
            let execs = events.filter { $0["event"] as? String == "exec" }
            let exits = events.filter { $0["event"] as? String == "exit" }
            #expect(execs.count == 21 && exits.count == 21, "\(events.count) events")  // 20 true and the rm of the gate
            let unnamed = events.filter { ($0["comm"] as? String ?? "").isEmpty }
            #expect(unnamed.isEmpty, "\(unnamed)")
            let wrong = Set(execs.filter { $0["comm"] as? String != "true" && $0["comm"] as? String != "rm" }.compactMap { $0["pid"] as? Int })
            let all = try jsonLines(run.stdout)
            #expect(execs.filter { $0["comm"] as? String == "true" }.count == 20,
                    "\(all.filter { wrong.contains($0["pid"] as? Int ?? -1) }.map { "\($0["event"]!) \($0["ktime_ns"]!) cpu\($0["cpu"]!) \($0["comm"] ?? "-") \($0["exe"] ?? "-")" })")
            #expect(exits.filter { $0["comm"] as? String == "true" }.count == 20)
        }

        @Test func textViewNamesEveryLineAndDecodesStatuses() throws {
            var child: Int32 = 0
            let run = try watch(["--color", "never", "-e", "exec,exit"]) {
                child = try Spawn.run(["/bin/sh", "-c", "sleep 0.05; kill -9 $$"]).pid
            }
            let lines = run.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first?.hasPrefix("TIME            EVENT        PID    PPID INFO") == true)
            let mine = lines.filter { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst(2).first == "\(child)" }
            #expect(mine.count == 2, "\(lines)")
            #expect(mine.first?.contains(" exec ") == true && mine.first?.hasSuffix("/bin/sh -c sleep 0.05; kill -9 $$") == true)
            #expect(mine.last?.contains("killed by SIGKILL") == true && mine.last?.hasSuffix("/bin/sh -c sleep 0.05; kill -9 $$") == true)
        }

        @Test func commFilterShowsOnlyMatchingProcesses() throws {
            let run = try watch(["--json", "--comm", "^true$", "-e", "exec,exit"]) {
                _ = try Spawn.run(["/bin/true"])
                _ = try Spawn.run(["/bin/sh", "-c", "exit 0"])
            }
            let events = try jsonLines(run.stdout)
            #expect(!events.isEmpty)
            #expect(events.allSatisfy { $0["comm"] as? String == "true" }, "\(events)")
        }

        @Test func userFilter() throws {
            let run = try watch(["--json", "--user", "nobody", "-e", "exec"]) {
                _ = try Spawn.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/bin/true"])
                _ = try Spawn.run(["/bin/true"])
            }
            let events = try jsonLines(run.stdout)
            #expect(events.map { $0["uid"] as? Int } == [65534], "\(events)")
        }

        @Test func pidFilter() throws {
            let sleeper = try gatedRoot("/bin/true; exit 4")
            let run = try watch(["--json", "--pid", "\(sleeper.pid)", "-e", "fork,exit"]) {
                sleeper.release()
                Spawn.wait(sleeper.pid)
            }
            let events = try jsonLines(run.stdout)
            #expect(events.map { $0["event"] as? String } == ["fork", "fork", "exit"], "\(events)")  // rm, true; its own exit
            #expect(events.last?["status"] as? [String: Int] == ["exited": 4])
        }

        @Test func treeFollowsADoubleForkedDaemon() throws {
            let gate = try gatedRoot("(setsid /bin/sh -c 'sleep 0.4; exec /bin/sleep 0.2' > /dev/null &); exit 0")
            let root = gate.pid
            let run = try watch(["--json", "--tree", "\(root)", "-e", "exec,exit"], duration: "2.5") {
                gate.release()
                Spawn.wait(root)
            }
            let events = try jsonLines(run.stdout)
            let commands = events.compactMap { event -> String? in
                guard event["event"] as? String == "exec" else { return nil }
                return (event["cmdline"] as? [String])?.joined(separator: " ")
            }
            #expect(commands.contains("/bin/sleep 0.2"), "\(commands)")  // exec'd by the daemon after its parents exited
            #expect(events.contains { $0["event"] as? String == "exit" && ($0["pid"] as? Int) == Int(root) })
        }

        /// `--tree` includes the descendants the root already had when procwatch started.
        @Test func treeIncludesDescendantsThatRanBeforeTheWatch() throws {
            let root = try Spawn.start(["/bin/sh", "-c", "/bin/sh -c '/bin/sleep 1.2; exit 5'; exit 0"])
            usleep(100_000)  // the child shell and its sleep exist before procwatch starts
            let run = try watch(["--json", "--tree", "\(root)", "-e", "exit"], duration: "2.5") { _ = Spawn.wait(root) }
            let exits = try jsonLines(run.stdout).map { event in
                "\(event["comm"] as? String ?? "?") \((event["status"] as? [String: Any])?["exited"] as? Int ?? -1)"
            }
            #expect(exits == ["sleep 0", "sh 5", "sh 0"], "\(run.stdout)")
        }

        /// `jobs` rules claim processes that were running before it started.
        @Test func jobsAdoptsProcessesRunningAtTheStart() throws {
            let nap = try privateSleep()
            defer { nap.remove() }
            let sleeper = try Spawn.start([nap.path, "1.2"])
            usleep(100_000)
            let run = try watch(["jobs", "--interval", "5", "--group", "sleepers=^\(nap.name)$"], duration: "2.5") { _ = Spawn.wait(sleeper) }
            let sleepers = try #require(run.stdout.split(separator: "\n").first { $0.hasPrefix("sleepers") }, "\(run.stdout)")
            let numbers = sleepers.split(separator: " ").dropFirst().prefix(5).compactMap { Int($0) }
            #expect(numbers == [0, 1, 0, 0, 1], "\(sleepers)")  // live, started, threads, failed, peak
        }

        @Test func statisticsCountWhatTheTestStarted() throws {
            let gate = try gatedRoot("for i in 1 2 3 4 5; do /bin/sleep 0.02; done; /bin/sh -c 'sleep 0.02; exit 1'; exit 0")
            let run = try watch(["-q", "--tree", "\(gate.pid)"]) {
                gate.release()
                Spawn.wait(gate.pid)
            }
            let lines = run.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first?.hasPrefix("   Fork    Exec    Exit") == true, "\(lines)")
            let sleepRow = try #require(lines.first { $0.hasSuffix(" sleep") }, "\(lines)")
            let counts = sleepRow.split(separator: " ").compactMap { Int($0) }
            #expect(counts == [0, 6, 6, 0, 0, 0, 0, 0, 0, 0, 12])  // five in the loop, one in the failing sh
            #expect(lines.contains { $0.hasPrefix("Failed exits: 1: sh [") && $0.hasSuffix("] exit 1") }, "\(lines)")
            #expect(lines.contains("Lost events: 0"))
        }

        @Test func statsViewRefreshesAndEndsWithTheTotals() throws {
            let gate = try gatedRoot("/bin/sh -c 'sleep 0.05; exit 2'; /bin/sleep 0.05")
            let run = try watch(["stats", "--interval", "0.5", "--tree", "\(gate.pid)"], duration: "1.8") {
                gate.release()
                Spawn.wait(gate.pid)
            }
            #expect(run.status == 0, "\(run.stderr)")
            let tables = run.stdout.components(separatedBy: "procwatch stats — ")
            #expect(tables.count >= 3, "\(run.stdout)")  // at least two refreshes, then the final table
            let final = run.stdout.split(separator: "\n").map(String.init)
            #expect(final.contains { $0.hasPrefix("Failed exits: 1: sh [") && $0.hasSuffix("] exit 2") }, "\(final)")
            let sleepRow = try #require(final.last { $0.hasSuffix(" sleep") })
            #expect(sleepRow.split(separator: " ").compactMap { Int($0) } == [0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 4])
        }

        @Test func gidAndSidAloneAreShown() throws {
            var child: Int32 = 0
            let gid = try watch(["--json", "-e", "gid"]) {
                child = try Spawn.run(["setpriv", "--regid=65534", "--clear-groups", "/bin/true"]).pid
            }
            #expect(try jsonLines(gid.stdout).contains { $0["event"] as? String == "gid" && $0["pid"] as? Int == Int(child) && $0["rgid"] as? Int == 65534 })
            let sid = try watch(["--json", "-e", "sid"]) { child = try Spawn.run(["setsid", "/bin/true"]).pid }
            #expect(try jsonLines(sid.stdout).map { $0["event"] as? String }.allSatisfy { $0 == "sid" })
            #expect(try jsonLines(sid.stdout).contains { $0["sid"] as? Int == Int(child) })
        }

        @Test func nonZeroExitShowsOnlyFailures() throws {
            var failing: Int32 = 0
            let run = try watch(["--json", "-e", "nonzeroexit"]) {
                _ = try Spawn.run(["/bin/true"])
                failing = try Spawn.run(["/bin/sh", "-c", "exit 9"]).pid
            }
            let events = try jsonLines(run.stdout)
            #expect(events.allSatisfy { $0["event"] as? String == "exit" && ($0["exit_code"] as? Int ?? 0) != 0 }, "\(events)")
            #expect(events.contains { $0["pid"] as? Int == Int(failing) && $0["status"] as? [String: Int] == ["exited": 9] })
        }

        @Test func forkstatNameFlags() throws {
            func execLine(_ flags: [String]) throws -> String {
                var child: Int32 = 0
                let run = try watch(["--color", "never", "-e", "exec"] + flags) {
                    child = try Spawn.run(["/bin/sh", "-c", "sleep 0.05"]).pid
                }
                return try #require(run.stdout.split(separator: "\n").map(String.init).first { $0.contains(" \(child) ") }, "\(run.stdout)")
            }
            #expect(try execLine([]).hasSuffix(" /bin/sh -c sleep 0.05"))
            #expect(try execLine(["-s"]).hasSuffix(" /bin/sh"))
            #expect(try execLine(["-s", "-d"]).hasSuffix(" sh"))
            #expect(try execLine(["-c"]).hasSuffix(" sh"))
            // -x: UID, EUID and TTY columns (the test runs as root, without a terminal).
            let extra = try execLine(["-x"])
            #expect(extra.contains(" root     root     ?       "), "\(extra)")
            #expect(try execLine(["-g"]).contains("▶ exec"))
        }

        @Test func extraColumnsShowTheEffectiveUserSetByAUIDEvent() throws {
            var child: Int32 = 0
            let run = try watch(["--color", "never", "-x", "-e", "uid,exec"]) {
                // setpriv sets only the effective uid (a uid event with real root, effective nobody),
                // then execs sleep, which lives long enough for /proc to be read at its exec (not
                // sh: dash drops an effective uid that differs from the real one at once).
                child = try Spawn.run(["setpriv", "--euid=65534", "/bin/sleep", "0.2"]).pid
            }
            // The child's own lines (its PID column), not its children's (their PPID column).
            let lines = run.stdout.split(separator: "\n").map(String.init).filter { $0.split(separator: " ").dropFirst(2).first == "\(child)" }
            #expect(lines.first?.hasPrefix("TIME") == false)
            #expect(run.stdout.hasPrefix("TIME            EVENT        PID    PPID UID      EUID     TTY     CONTAINER    INFO"), "\(run.stdout)")
            let uid = try #require(lines.first { $0.contains(" uid ") }, "\(lines)")
            #expect(uid.contains(" root     nobody   ?       -            uid root euid nobody "), "\(uid)")
            // setpriv's own exec, before the uid event; then sleep's, after it.
            let execs = lines.filter { $0.contains(" exec ") }
            #expect(execs.count == 2, "\(lines)")
            #expect(execs.first?.contains(" root     root     ?       -            was ") == true, "\(execs)")
            // "was setpriv", unless /proc already showed sleep at setpriv's own exec.
            #expect(execs.last?.contains(" root     nobody   ?       -            was ") == true, "\(execs)")
            #expect(execs.last?.hasSuffix(" /bin/sleep 0.2") == true, "\(execs)")
        }

        /// A set-user-ID exec changes the effective uid: the kernel reports it as a uid event
        /// (`commit_creds`) just before the exec, and -x shows it on the exec line.
        @Test func extraColumnsShowTheEffectiveUserOfASetUserIDProgram() throws {
            let directory = "/tmp/procwatch-suid-\(getpid())"
            mkdir(directory, 0o755)
            defer { _ = try? Spawn.run(["rm", "-rf", directory]) }
            let program = directory + "/suid-sleep"  // lives long enough for /proc to be read at its exec
            #expect(try Spawn.run(["cp", "/bin/sleep", program]).status == 0)
            #expect(chmod(program, 0o4755) == 0)
            var child: Int32 = 0
            let run = try watch(["--color", "never", "-x", "-e", "exec,uid"]) {
                child = try Spawn.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", program, "0.2"]).pid
            }
            let lines = run.stdout.split(separator: "\n").map(String.init).filter { $0.split(separator: " ").dropFirst(2).first == "\(child)" }
            #expect(lines.last { $0.contains(" uid ") }?.contains(" nobody   root     ?       -            uid nobody euid root ") == true, "\(lines)")
            let execs = lines.filter { $0.contains(" exec ") }
            #expect(execs.count == 2, "\(run.stdout)")
            // "was setpriv" when the two execs came in separate kernel batches; when they came in
            // one, /proc showed only the second program and the first exec stays unnamed.
            #expect(execs.last?.contains(" nobody   root     ?       ") == true, "\(execs)")
            #expect(execs.last?.hasSuffix(" \(program) 0.2") == true, "\(execs)")
        }

        @Test func statisticsFollowTheEventsWithSAndL() throws {
            var child: Int32 = 0
            let run = try watch(["-S", "-l", "-E", "--color", "never"]) {
                child = try Spawn.run(["/bin/sh", "-c", "sleep 0.05; exit 6"]).pid
            }
            let lines = run.stdout.split(separator: "\n").map(String.init)
            let exitLine = try #require(lines.firstIndex { $0.contains(" exit ") && $0.contains(" \(child) ") && $0.contains("exit 6") }, "\(lines)")
            let table = try #require(lines.firstIndex { $0.hasPrefix("   Fork    Exec    Exit") })
            #expect(exitLine < table)
            #expect(lines.contains { $0.hasPrefix("Failed exits: ") && $0.contains("sh [\(child)] exit 6") }, "\(lines.suffix(5))")
            #expect(lines.last == "Lost events: 0")
        }

        @Test func jsonStatisticsGoToStandardErrorAndStdoutStaysJSON() throws {
            var child: Int32 = 0
            let run = try watch(["--json", "-S"], duration: "1") {
                child = try Spawn.run(["/bin/sh", "-c", "exit 5"]).pid
            }
            #expect(run.status == 0, "\(run.stderr)")
            let events = try jsonLines(run.stdout)  // every line of stdout is a JSON object
            #expect(events.contains { $0["event"] as? String == "exit" && $0["pid"] as? Int == Int(child) }, "\(run.stdout)")
            #expect(run.stderr.hasPrefix(SourceLine.bpf), "\(run.stderr)")
            let table = run.stderr.dropFirst(SourceLine.bpf.count).split(separator: "\n").map(String.init)
            #expect(table.first?.hasPrefix("   Fork    Exec    Exit") == true, "\(run.stderr)")
            #expect(table.contains { $0.hasPrefix("Failed exits: ") && $0.contains("sh [\(child)] exit 5") }, "\(table)")
            #expect(table.last == "Lost events: 0")
        }

        @Test func everythingFlagWorksAsRoot() throws {
            let run = try watch(["-X", "--color", "never"]) { _ = try Spawn.run(["/bin/true"]) }
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout.contains("▶ exec"))
            #expect(run.stdout.contains("Lost events: 0"))
        }

        @Test func sigintEndsJSONWithEveryLineComplete() throws {
            var child: Int32 = 0
            let run = try Spawn.capture([Spawn.procwatchBinary, "--json"], started: true) { pid in
                usleep(200_000)
                child = try Spawn.run(["/bin/sh", "-c", "exit 2"]).pid
                usleep(100_000)
                kill(pid, SIGINT)
            }
            #expect(run.status == 0)
            let events = try jsonLines(run.stdout)
            #expect(events.contains { $0["event"] as? String == "exit" && $0["pid"] as? Int == Int(child) })
            #expect(run.stdout.hasSuffix("}\n"))
        }

        @Test(arguments: [
            (["-e", "bogus"], "procwatch: unknown event 'bogus' in -e; known: fork, clone, exec, exit, core, coredump, comm, ptrace, uid, gid, sid, execfail, exec_failed, nonzeroexit, failed_exit, all\n"),
            (["--comm", "("], "procwatch: --comm '(' is not a valid regular expression: expected ')'\n"),
            (["--cgroup", "("], "procwatch: --cgroup '(' is not a valid regular expression: expected ')'\n"),
            (["--container", ""], "procwatch: --container takes at least one character of a container id\n"),
            (["report", "x.db", "--container", "ab"], "procwatch: report does not take --container\n"),
            (["run", "--container-column", "--", "true"], "procwatch: run does not take --container-column\n"),
            (["--user", "no-such-user-here"], "procwatch: --user no-such-user-here: no such user\n"),
            (["--pid", "999999"], "procwatch: --pid 999999: no such process\n"),
            (["--tree", "0"], "procwatch: --tree 0: no such process\n"),
            (["--pid", "1", "--tree", "1"], "procwatch: --pid and --tree cannot be combined: --tree already includes the process\n"),
            (["-q", "--json"], "procwatch: -q (statistics only) and --json (every event) cannot be combined\n"),
            (["-s", "-c"], "procwatch: -s (program name) and -c (comm name) cannot be combined\n"),
            (["-e", "exec", "-E"], "procwatch: -e and -E/-X both choose events: use one\n"),
            (["-D", "0"], "procwatch: -D takes a positive number of seconds (at most 10000000), not 0.0\n"),
            (["-D", "inf"], "procwatch: -D takes a positive number of seconds (at most 10000000), not inf\n"),
            (["stats", "--interval", "0"], "procwatch: --interval takes a number of seconds from 0.01 to 1000000, not 0.0\n"),
            (["-D", "soon"], "procwatch: The value 'soon' is invalid for '-D <SECONDS>'\n"),
            (["--bogus"], "procwatch: Unknown option '--bogus'\n"),
        ])
        func argumentErrors(_ arguments: [String], _ message: String) throws {
            let run = try Spawn.capture([Spawn.procwatchBinary] + arguments)
            #expect(run.status == 64 << 8)
            #expect(run.stderr == message)
            #expect(run.stdout.isEmpty)
        }

        @Test func runAccountsForTheTreeAndExitsWithTheCommandsStatus() throws {
            let file = "/tmp/procwatch-run-\(getpid())"
            defer { unlink(file) }
            let script = "sh -c 'exit 3'; dd if=/dev/zero of=\(file) bs=64k count=16 conv=fsync status=none; sleep 0.05; exit 4"
            let run = try Spawn.capture([Spawn.procwatchBinary, "run", "--json", "--", "/bin/sh", "-c", script])
            #expect(run.status == 4 << 8, "\(run.stderr)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            #expect(report["command"] as? [String] == ["/bin/sh", "-c", script])
            #expect(report["exit_status"] as? [String: Int] == ["exited": 4])
            #expect(report["processes"] as? Int == 4)
            #expect(report["threads"] as? Int == 0)
            let failed = try #require(report["failed"] as? [[String: Any]])
            // The short-lived `sh -c 'exit 3'` may be gone before /proc is read: then its exit record names it.
            #expect(failed.first?["cmdline"] as? [String] == ["/bin/sh", "-c", script])
            #expect([["sh", "-c", "exit 3"], ["sh"]].contains(failed.last?["cmdline"] as? [String] ?? []), "\(failed)")
            #expect(failed.map { $0["status"] as? [String: Int] } == [["exited": 4], ["exited": 3]])
            let tree = try #require(report["tree"] as? [String: Any])
            let children = try #require(tree["children"] as? [[String: Any]])
            #expect(Set(children.compactMap { ($0["cmdline"] as? [String])?.first }) == ["sh", "dd", "sleep"])
            let dd = try #require(children.first { ($0["cmdline"] as? [String])?.first == "dd" })
            #expect(dd["write_chars"] as? Int == 1_048_576)  // 16 x 64 KiB through write(2), exactly
            #expect((dd["read_chars"] as? Int ?? 0) >= 1_048_576)
            // To storage (fsync): the data, and the file system's own blocks for the new file.
            #expect((1_048_576..<1_048_576 + 65_536).contains(dd["write_bytes"] as? Int ?? 0), "\(dd)")
            #expect((report["write_bytes"] as? Int ?? 0) >= 1_048_576)
            #expect((report["wall_s"] as? Double ?? 0) >= 0.05)
        }

        @Test func runCPUMatchesGetrusageOfTheSameRun() throws {
            // Two children burn CPU; the test's RUSAGE_CHILDREN covers procwatch and the whole
            // tree (every process was waited for), so it bounds the report from above.
            var before = rusage()
            getrusage(RUSAGE_CHILDREN.rawValue, &before)
            let burn = "i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done"
            let run = try Spawn.capture([Spawn.procwatchBinary, "run", "--json", "--", "/bin/sh", "-c", "(\(burn)) & (\(burn)); wait"])
            var after = rusage()
            getrusage(RUSAGE_CHILDREN.rawValue, &after)
            func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
            let measured = seconds(after.ru_utime) + seconds(after.ru_stime) - seconds(before.ru_utime) - seconds(before.ru_stime)
            let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            let cpu = (report["cpu_user_s"] as? Double ?? 0) + (report["cpu_system_s"] as? Double ?? 0)
            #expect(cpu > 0.1, "\(run.stdout)")
            #expect(cpu <= measured + 0.02, "report \(cpu) s, getrusage \(measured) s")
            #expect(measured - cpu < 0.5, "procwatch's own CPU: \(measured - cpu) s")
            #expect(report["processes"] as? Int == 3)
        }

        @Test func runReportsDeathBySignalAs128PlusN() throws {
            let run = try Spawn.capture([Spawn.procwatchBinary, "run", "--", "/bin/sh", "-c", "kill -TERM $$"])
            #expect(run.status == (128 + 15) << 8)
            #expect(run.stdout.contains("  status     killed by SIGTERM"), "\(run.stdout)")
        }

        @Test func runWaitAllWaitsForADaemon() throws {
            let script = "(setsid /bin/sh -c 'sleep 0.6' > /dev/null 2>&1 &); exit 0"
            let quick = try Spawn.capture([Spawn.procwatchBinary, "run", "--json", "--", "/bin/sh", "-c", script])
            let quickReport = try #require(try JSONSerialization.jsonObject(with: Data(quick.stdout.utf8)) as? [String: Any])
            #expect((quickReport["wall_s"] as? Double ?? 9) < 0.5, "\(quick.stdout)")
            let patient = try Spawn.capture([Spawn.procwatchBinary, "run", "--json", "--wait-all", "--", "/bin/sh", "-c", script])
            #expect(patient.status == 0)
            let report = try #require(try JSONSerialization.jsonObject(with: Data(patient.stdout.utf8)) as? [String: Any])
            #expect((report["wall_s"] as? Double ?? 0) >= 0.6, "\(patient.stdout)")
            #expect(patient.stdout.contains(#""cmdline":["sleep","0.6"]"#), "\(patient.stdout)")
            usleep(700_000)  // let the first run's daemon finish too
        }

        /// As user nobody the kernel refuses taskstats, and on some kernels the connector
        /// too: `run` still runs the command and reports what it could see, saying what is
        /// missing and why (null figures, not zeros).
        @Test func runWithoutPrivilegeSaysWhatIsMissing() throws {
            let nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", Spawn.procwatchBinary, "run"]
            let connector = ConnectorPrivilege.unprivilegedMayListen
            let unavailable = connector
                ? "registering for taskstats exit records was refused: run as root or grant CAP_NET_ADMIN (e.g. sudo setcap cap_net_admin+ep $(which procwatch))"
                : "the /proc scanner reads no CPU, memory or I/O figures"
            let run = try Spawn.capture(nobody + ["--", "/bin/sh", "-c", "exit 2"])
            #expect(run.status == 2 << 8, "\(run.stderr)")
            #expect(run.stdout.contains("  cpu, memory and I/O: not available (\(unavailable))"), "\(run.stdout)")
            #expect(run.stdout.contains("  processes  1 started, 0 threads, 1 failed"), "\(run.stdout)")
            if !connector {
                // Where the kernel refuses the connector as well, the scanner stands in and says why.
                #expect(run.stderr.hasPrefix("procwatch: source: procfs (BPF unavailable: loading the BPF programs was refused (EPERM): "
                    + "run as root, or grant CAP_BPF and CAP_PERFMON; the connector: \(ConnectorPrivilege.bindRefusal); "
                    + "scanning /proc every 10 ms: "), "\(run.stderr)")
                #expect(run.stdout.contains("  source     procfs\n"), "\(run.stdout)")
            }
            let json = try Spawn.capture(nobody + ["--json", "--", "/bin/sh", "-c", "exit 2"])
            #expect(json.status == 2 << 8, "\(json.stderr)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], "\(json.stdout)")
            for key in ["cpu_user_s", "cpu_system_s", "peak_rss_kb", "read_bytes", "write_bytes"] {
                #expect(report[key] is NSNull, "\(key): \(String(describing: report[key]))")
            }
            #expect(report["unavailable"] as? String == unavailable)
            // The root is named by the command procwatch started, even when it exited before /proc could show it.
            let tree = try #require(report["tree"] as? [String: Any])
            #expect(tree["cmdline"] as? [String] == ["/bin/sh", "-c", "exit 2"], "\(json.stdout)")
            let failed = try #require(report["failed"] as? [[String: Any]])
            #expect(failed.map { $0["cmdline"] as? [String] } == [["/bin/sh", "-c", "exit 2"]], "\(json.stdout)")
        }

        @Test func jobsTableCountsRuleDefinedGroups() throws {
            let nap = try privateSleep()
            defer { nap.remove() }
            let gate = try gatedRoot("\(nap.path) 0.05; /bin/sh -c '\(nap.path) 0.05; exit 1'; \(nap.path) 0.05")
            let run = try watch(["jobs", "--interval", "5", "--group", "sleepers=^\(nap.name)$", "--group", "nobody-here=uid:4000123"], duration: "2") {
                gate.release()
                Spawn.wait(gate.pid)
            }
            let lines = run.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first == "GROUP             LIVE  STARTED  THREADS  FAILED  PEAK       CPU      WALL", "\(lines)")
            let sleepers = try #require(lines.first { $0.hasPrefix("sleepers") })
            let numbers = sleepers.split(separator: " ").dropFirst().prefix(5).compactMap { Int($0) }
            #expect(numbers == [0, 3, 0, 0, 1], "\(sleepers)")  // three sleeps, one at a time, none failed
            let wall = try #require(sleepers.split(separator: " ").last.flatMap { Double($0.dropLast()) }, "\(sleepers)")
            #expect(wall >= 0.15 && wall < 1.5, "\(sleepers)")  // three 50 ms sleeps, first start to last exit
            #expect(lines.contains { $0.hasPrefix("nobody-here") && $0.split(separator: " ").dropFirst().prefix(5).compactMap { Int($0) } == [0, 0, 0, 0, 0] })
        }

        @Test func runWritesTheReportToAFileApartFromTheCommandsOutput() throws {
            let file = "/tmp/procwatch-report-\(getpid()).json"
            defer { unlink(file) }
            let run = try Spawn.capture([Spawn.procwatchBinary, "run", "--json", "-o", file, "--", "/bin/echo", "hello"])
            #expect(run.status == 0)
            #expect(run.stdout == "hello\n")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any])
            #expect(report["command"] as? [String] == ["/bin/echo", "hello"])
            let denied = try Spawn.capture([Spawn.procwatchBinary, "run", "-o", "/proc/no/such/file", "--", "/bin/true"])
            #expect(denied.status == 2 << 8)
            #expect(denied.stderr == SourceLine.bpf + "procwatch: run: cannot write /proc/no/such/file: No such file or directory\n")
        }

        @Test func ctrlCReachesTheCommandAndTheReportStillComes() throws {
            // A terminal's Ctrl-C signals the whole foreground process group: here, a new session.
            let run = try Spawn.capture(["setsid", Spawn.procwatchBinary, "run", "--", "/bin/sleep", "5"]) { pid in
                usleep(500_000)
                kill(-pid, SIGINT)
            }
            #expect(run.status == (128 + 2) << 8, "\(run.stderr)")
            #expect(run.stdout.contains("  status     killed by SIGINT"), "\(run.stdout)")
        }

        /// The live view's options parse anywhere on the line; a subcommand without a use for
        /// one refuses it in one line rather than ignoring it.
        @Test func rootOptionsASubcommandDoesNotUseAreRefused() throws {
            let cases: [([String], String)] = [
                (["run", "-D", "5", "--", "/bin/true"], "run does not take -D"),
                (["run", "-e", "exec", "--", "/bin/true"], "run does not take -e"),
                (["report", "x.db", "--user", "root"], "report does not take --user"),
                (["jobs", "-e", "exec", "--group", "a=b"], "jobs does not take -e"),
                (["record", "-o", "/tmp/x.db", "-q"], "record does not take -q"),
                (["stats", "--json"], "stats does not take --json"),
                (["-x", "stats"], "stats does not take -x"),
            ]
            for (arguments, message) in cases {
                let run = try Spawn.capture([Spawn.procwatchBinary] + arguments)
                #expect(run.status == 64 << 8, "\(arguments)")
                #expect(run.stderr == "procwatch: \(message)\n", "\(arguments)")
            }
        }

        @Test func runWithoutACommandIsAnError() throws {
            let run = try Spawn.capture([Spawn.procwatchBinary, "run"])
            #expect(run.status == 64 << 8)
            #expect(run.stderr == "procwatch: run needs a command: procwatch run -- COMMAND [ARGS...]\n")
        }

        @Test func helpDocumentsEveryFlagWithExamples() throws {
            let run = try Spawn.capture([Spawn.procwatchBinary, "--help"])
            #expect(run.status == 0)
            for flag in ["-e <LIST>", "-E", "-D <SECONDS>", "-S", "-q", "-x", "-s", "-d", "-c", "-l", "-r", "-g", "-X",
                         "--json", "--pid <PID>", "--tree <PID>", "--comm <REGEX>", "--user <NAME|UID>", "--ancestry", "--color <WHEN>",
                         "stats"] {
                #expect(run.stdout.contains(flag), "help lacks \(flag)")
            }
            #expect(run.stdout.contains("Examples:"))
            // Every option's help, wrapped over its lines, carries an example.
            let options = run.stdout.components(separatedBy: "OPTIONS:").last ?? ""
            var blocks: [String] = []
            for line in options.split(separator: "\n") {
                if line.hasPrefix("  -") { blocks.append(String(line)) } else if !blocks.isEmpty { blocks[blocks.count - 1] += String(line) }
            }
            let withoutExample = blocks.filter { !$0.contains("Example:") && !$0.contains("--help") && !$0.contains("--version") }
            #expect(withoutExample.isEmpty, "\(withoutExample)")
        }

        /// The live view's process maps neither SQLite nor Foundation proper (only
        /// FoundationEssentials, which swift-argument-parser imports): `record` and `report`
        /// run in `procwatch-store`, which keeps the live view's resident memory small.
        @Test func theLiveViewLoadsNoDatabaseLibraries() throws {
            let run = try Spawn.capture([Spawn.procwatchBinary, "-q", "-D", "0.5"], primed: false) { pid in
                usleep(200_000)
                let maps = (try? String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8)) ?? ""
                #expect(maps.contains("/procwatch\n"))
                for library in ["libsqlite3", "libFoundation.so", "libFoundationInternationalization", "lib_FoundationICU"] {
                    #expect(!maps.contains(library), "the live view maps \(library)")
                }
            }
            #expect(run.status == 0)
        }

        /// `procwatch record` and `report` are `procwatch-store`'s: help, errors and exit
        /// codes come from there; without it, one line says how to get it.
        @Test func recordAndReportRunInProcwatchStore() throws {
            let help = try Spawn.capture([Spawn.procwatchBinary, "record", "--help"])
            #expect(help.status == 0)
            #expect(help.stdout.contains("-o, --output <FILE>"))
            let topic = try Spawn.capture([Spawn.procwatchBinary, "help", "report"])
            #expect(topic.status == 0)
            #expect(topic.stdout.contains("--svg <FILE>"))
            let missing = try Spawn.capture([Spawn.procwatchBinary, "report", "/nonexistent/x.db"])
            #expect(missing.status == 64 << 8)
            #expect(missing.stderr == "procwatch: /nonexistent/x.db: no such file\n")

            // Alone in a build directory (as `swift run procwatch` leaves it) or elsewhere.
            let top = "/tmp/procwatch-alone-\(getpid())"
            mkdir(top, 0o700)
            defer { _ = try? Spawn.run(["rm", "-rf", top]) }
            for (name, remedy) in [
                ("debug", "build it with `swift build --product procwatch-store` (scripts/procwatch builds and runs both)"),
                ("release", "build it with `swift build -c release --product procwatch-store` (scripts/procwatch builds and runs both)"),
                ("bin", "install procwatch-store next to procwatch (the Debian package from scripts/package has both)"),
            ] {
                let directory = top + "/" + name
                mkdir(directory, 0o700)
                #expect(try Spawn.run(["cp", Spawn.procwatchBinary, directory + "/procwatch"]).status == 0)
                for arguments in [["record", "-o", directory + "/x.db"], ["help", "record"]] {
                    let alone = try Spawn.capture([directory + "/procwatch"] + arguments)
                    #expect(alone.status == 2 << 8)
                    #expect(alone.stderr == "procwatch: record needs \(directory)/procwatch-store (No such file or directory): \(remedy)\n")
                }
            }
        }

        @Test func missingPrivilegeForRealTimeIsNamed() throws {
            // The /proc scanner works for any user on any kernel: what is refused is -r alone.
            let run = try Spawn.capture(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", Spawn.procwatchBinary,
                                         "--source", "procfs", "-r", "-D", "1"])
            #expect(run.status == 2 << 8)
            #expect(run.stderr == "procwatch: source: procfs (asked for; scanning /proc every 10 ms: processes that live shorter are "
                + "counted as lost, not shown)\nprocwatch: -r: real-time scheduling was refused: run as root or grant CAP_SYS_NICE"
                + " (e.g. sudo setcap cap_sys_nice+ep $(which procwatch))\n")
        }
    }
}
