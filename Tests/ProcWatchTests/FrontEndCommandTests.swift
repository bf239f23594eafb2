import Foundation
import Glibc
import Testing
@testable import ProcWatch
@testable import ProcWatchCLI

/// Help and argument errors of the `procwatch` binary: no kernel, no root.
@Suite("procwatch help and errors")
struct HelpAndErrorTests {
    @Test(arguments: [
        (["-D", "-5"], "procwatch: -D takes a positive number of seconds (at most 10000000), not -5.0\n"),
        (["--tree", "-3"], "procwatch: --tree -3: no such process\n"),
        (["--pid", "-1"], "procwatch: --pid -1: no such process\n"),
        (["--color", "sometimes"], "procwatch: The value 'sometimes' is invalid for '--color <WHEN>'. Please provide one of 'auto', 'always' or 'never'.\n"),
        (["jobs", "--group", "ok=^a$", "--group", "x=("], "procwatch: --group x=(: '(' is not a valid regular expression: expected ')'\n"),
        (["--width", "3"], "procwatch: --width takes a number of columns from 10 to 1000000, not 3\n"),
        (["--width", "-3"], "procwatch: --width takes a number of columns from 10 to 1000000, not -3\n"),
        (["--width", "90", "--no-truncate"], "procwatch: --width and --no-truncate cannot be combined\n"),
        (["stats", "--width", "90"], "procwatch: stats does not take --width\n"),
        (["report", "x.db", "--include-self"], "procwatch: report does not take --include-self\n"),
    ])
    func badValuesAreNamed(_ arguments: [String], _ message: String) throws {
        let run = try Spawn.capture([Spawn.procwatchBinary] + arguments)
        #expect(run.status == 64 << 8, "\(arguments): \(run.stderr)")
        #expect(run.stderr == message)
        #expect(run.stdout.isEmpty)
    }

    /// Help as an 80-column terminal shows it.
    func help(_ arguments: [String]) throws -> String {
        let run = try Spawn.capture(["/usr/bin/env", "COLUMNS=80", Spawn.procwatchBinary] + arguments)
        #expect(run.status == 0, "\(arguments): \(run.stderr)")
        return run.stdout
    }

    /// The root options a subcommand takes are in its own help.
    @Test func subcommandHelpListsTheRootOptionsItTakes() throws {
        let run = try help(["help", "run"])
        for option in ["--json", "-s", "-d", "--width <COLUMNS>", "--no-truncate"] {
            #expect(run.contains("\n  \(option) "), "help run lacks \(option)")
        }
        let stats = try help(["help", "stats"])
        for option in ["-e <LIST>", "-E", "--pid <PID>", "--tree <PID>", "--comm <REGEX>", "--user <NAME|UID>", "--include-self", "-D <SECONDS>"] {
            #expect(stats.contains("\n  \(option) "), "help stats lacks \(option)")
        }
        let root = try help(["--help"])
        for option in ["--width <COLUMNS>", "--no-truncate", "--include-self"] {
            #expect(root.contains("\n  \(option) "), "--help lacks \(option)")
        }
    }

    /// Every line of every Examples block is one example: none wraps at 80 columns.
    @Test(arguments: [["--help"], ["help", "stats"], ["help", "run"], ["help", "jobs"], ["help", "record"], ["help", "report"], ["help", "hosts"]])
    func examplesFitEightyColumns(_ arguments: [String]) throws {
        let lines = try help(arguments).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let start = try #require(lines.firstIndex(of: "Examples:"), "\(arguments)")
        let block = lines[(start + 1)...].prefix { !$0.isEmpty }
        #expect(block.count >= 3)
        let wrapped = block.filter { !$0.hasPrefix("  procwatch ") }
        #expect(wrapped.isEmpty, "\(arguments): \(wrapped)")
    }
}

extension LiveKernelTests {
    /// The live view, `stats`, `jobs`, `record` and `run` against the real kernel (root).
    @Suite("procwatch front ends", .enabled(if: getuid() == 0))
    struct FrontEndTests {
        let cli = CommandLineTests()

        /// `N events in S s; R forks/s`: the run's length, and the forks over it.
        @Test func ratesArePerSecondOfTheRun() throws {
            let gate = try cli.gatedRoot("/bin/true; exit 0")  // forks rm (of the gate's FIFO) and true
            let run = try cli.watch(["-q", "--tree", "\(gate.pid)"], duration: "2") {
                gate.release()
                Spawn.wait(gate.pid)
            }
            #expect(run.status == 0, "\(run.stderr)")
            let lines = run.stdout.split(separator: "\n").map(String.init)
            let rates = try #require(lines.first { $0.contains(" events in ") }, "\(lines)")
            let match = try #require(rates.wholeMatch(of: #/(\d+) events in (\d+\.\d{3})s; (\d+\.\d) forks/s/#), "\(rates)")
            let seconds = try #require(Double(match.2))
            #expect(seconds >= 2 && seconds < 2.5, "\(rates)")  // -D 2, not the milliseconds between the events
            let all = try #require(lines.first { $0.hasSuffix(" (all)") }).split(separator: " ").compactMap { Int($0) }
            #expect(all.first == 2, "\(lines)")  // Fork column: rm and true
            #expect(Int(match.1) == all.last)
            #expect(String(match.3) == Statistics.rate(2, seconds), "\(rates)")
        }

        /// procwatch's reader thread is created, renamed and ended while it listens: shown
        /// only with --include-self.
        @Test func procwatchLeavesItselfOut() throws {
            func ownEvents(_ extra: [String]) throws -> [[String: Any]] {
                let run = try Spawn.capture([Spawn.procwatchBinary, "--json", "-E", "-D", "1"] + extra)
                #expect(run.status == 0, "\(run.stderr)")
                let events = try cli.jsonLines(run.stdout)
                return events.filter { ($0["pid"] as? Int).map(Int32.init) == run.pid }
            }
            #expect(try ownEvents([]).isEmpty)
            let own = try ownEvents(["--include-self"])
            #expect(own.contains { $0["event"] as? String == "fork" && $0["thread"] as? Bool == true }, "\(own)")
            // The kernel-side watchers' reader (auto picks them on the test machines).
            #expect(own.contains { $0["event"] as? String == "comm" && $0["comm"] as? String == "procwatch-bpf" }, "\(own)")
        }

        /// A host recording has no row for the recorder (its never-ending bar squeezed the timeline).
        @Test func hostRecordingsLeaveTheRecorderOut() throws {
            for (extra, rows) in [([String](), "0|0"), (["--include-self"], "1|1")] {
                let path = StoreWorkload.temporaryPath("self.db")
                defer { StoreWorkload.remove(path) }
                let run = try Spawn.capture([Spawn.procwatchBinary, "record", "-o", path, "-D", "1"] + extra)
                #expect(run.status == 0, "\(run.stderr)")
                #expect(try StoreWorkload.rows(path, """
                    SELECT (SELECT count(*) FROM processes WHERE pid = \(run.pid)), (SELECT count(*) > 0 FROM events WHERE pid = \(run.pid))
                    """) == [rows], "\(extra)")
            }
        }

        /// `jobs` puts procwatch in no group, even one whose rule it matches.
        @Test func jobsLeavesItselfOut() throws {
            let binary = try #require(realpath(Spawn.procwatchBinary, nil).map { path in
                defer { free(path) }
                return String(cString: path)
            })
            // Live, started, failed, peak (its threads come and go: not counted here).
            for (extra, expected) in [([String](), [0, 0, 0, 0]), (["--include-self"], [1, 1, 0, 1])] {
                let run = try Spawn.capture([Spawn.procwatchBinary, "jobs", "--interval", "5", "--group", "me=exe:\(binary)", "-D", "1"] + extra)
                #expect(run.status == 0, "\(run.stderr)")
                let row = try #require(run.stdout.split(separator: "\n").first { $0.hasPrefix("me ") }, "\(run.stdout)")
                let numbers = row.split(separator: " ").dropFirst().prefix(5).compactMap { Int($0) }
                #expect(numbers.count == 5 && [numbers[0], numbers[1], numbers[3], numbers[4]] == expected, "\(extra): \(row)")
            }
        }

        /// Piped output stays whole; --width cuts it.
        @Test func widthCutsPipedLinesOnlyWhenAsked() throws {
            let long = String(repeating: "x", count: 200)
            func execLine(_ extra: [String]) throws -> String {
                var child: Int32 = 0
                let run = try cli.watch(["--color", "never", "-e", "exec"] + extra) {
                    child = try Spawn.run(["/bin/sh", "-c", "sleep 0.1; : \(long)"]).pid
                }
                return try #require(run.stdout.split(separator: "\n").map(String.init).first { $0.contains(" \(child) ") }, "\(run.stdout)")
            }
            #expect(try execLine([]).hasSuffix(" /bin/sh -c sleep 0.1; : \(long)"))
            let cut = try execLine(["--width", "60"])
            #expect(cut.count == 60 && cut.hasSuffix("…"), "\(cut)")
        }

        /// On a terminal, lines are cut to its width, and to the new width after a resize.
        @Test func aTerminalsLinesFollowItsWidth() throws {
            let long = String(repeating: "x", count: 200)
            let gate = try cli.gatedRoot("/bin/sh -c 'sleep 0.1; : \(long)'; sleep 1; /bin/sh -c 'sleep 0.1; : \(long)'")
            let (master, terminal) = try FrontEndOutputTests.pseudoTerminal(columns: 120)
            defer { close(master) }
            let pid = try Spawn.start([Spawn.procwatchBinary, "--color", "never", "-e", "exec", "--tree", "\(gate.pid)", "-D", "3"],
                                      stdout: terminal)
            close(terminal)
            usleep(700_000)  // subscribed (another listener on the host would make a probe say so at once)
            gate.release()
            usleep(500_000)  // the first sh ran; the second comes in a second
            var size = winsize(ws_row: 30, ws_col: 100, ws_xpixel: 0, ws_ypixel: 0)
            try #require(ioctl(master, UInt(TIOCSWINSZ), &size) == 0)
            kill(pid, SIGWINCH)  // the terminal is no one's controlling terminal: say it ourselves
            Spawn.wait(gate.pid)
            #expect(Spawn.wait(pid) == 0)
            // What procwatch wrote stays readable on the master end after it exited (then EIO).
            // The terminal ends lines with CR LF (one Character in Swift).
            let output = String(decoding: Spawn.readAll(master), as: UTF8.self)
            let lines = output.split(whereSeparator: \.isNewline).map(String.init)
            #expect(lines.first?.hasPrefix("TIME ") == true, "\(lines)")
            let shells = lines.filter { $0.contains(" /bin/sh -c sleep 0.1; :") }
            #expect(shells.map(\.count) == [120, 100], "\(output.debugDescription)")
            #expect(shells.allSatisfy { $0.hasSuffix("…") }, "\(shells)")
        }

        /// A wrapper that burns nothing itself but whose child burns much comes before a
        /// sibling that burns a little itself; figures to the millisecond.
        @Test func runSortsTheTreeBySubtreeCPU() throws {
            let directory = "/tmp/procwatch-burn-\(getpid())"
            mkdir(directory, 0o755)
            defer { _ = try? Spawn.run(["rm", "-rf", directory]) }
            let big = directory + "/big.sh"
            try "i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done; exit 0\n".write(toFile: big, atomically: true, encoding: .utf8)
            let script = "/bin/sh -c '/bin/sh \(big); exit 0'; /bin/sh -c 'i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; exit 0'; exit 0"
            let run = try Spawn.capture([Spawn.procwatchBinary, "run", "--json", "--", "/bin/sh", "-c", script])
            #expect(run.status == 0, "\(run.stderr)")
            for figure in run.stdout.matches(of: #/"(cpu_s|tree_cpu_s|cpu_user_s|cpu_system_s)":([0-9.]+)/#) {
                #expect(figure.2.split(separator: ".").last?.count == 3, "\(figure.0)")
            }
            let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            let tree = try #require(report["tree"] as? [String: Any])
            let children = try #require(tree["children"] as? [[String: Any]])
            try #require(children.count == 2, "\(run.stdout)")
            let (wrapper, sibling) = (children[0], children[1])
            #expect((wrapper["cmdline"] as? [String])?.last == "/bin/sh \(big); exit 0", "\(run.stdout)")
            func ms(_ node: [String: Any], _ key: String) -> Int { Int(((node[key] as? Double ?? -1) * 1000).rounded()) }
            #expect(ms(wrapper, "cpu_s") < ms(sibling, "cpu_s"), "own CPU alone would put the sibling first: \(run.stdout)")
            #expect(ms(wrapper, "tree_cpu_s") > ms(sibling, "tree_cpu_s"))
            let burner = try #require((wrapper["children"] as? [[String: Any]])?.first)
            #expect(ms(wrapper, "tree_cpu_s") == ms(wrapper, "cpu_s") + ms(burner, "tree_cpu_s"))
            #expect(ms(tree, "tree_cpu_s") == ms(tree, "cpu_s") + ms(wrapper, "tree_cpu_s") + ms(sibling, "tree_cpu_s"))

            // The text, with -s -d and a width: names alone, both figures, every line in 60 columns.
            let text = try Spawn.capture([Spawn.procwatchBinary, "run", "-s", "-d", "--width", "60", "--", "/bin/sh", "-c", script])
            #expect(text.status == 0, "\(text.stderr)")
            let lines = text.stdout.split(separator: "\n").map(String.init)
            #expect(lines.allSatisfy { $0.count <= 60 } && lines[0].count == 60, "\(lines)")
            let treeStart = try #require(lines.firstIndex { $0.hasPrefix("tree (") })
            let shape = lines[(treeStart + 1)...].map { $0.replacing(#/\d+\.\d+s/#, with: "T").replacing(#/^( *)\d+ /#) { "\($0.1)PID " } }
            #expect(shape == [
                "  PID sh  T  cpu T, tree T  exit 0",
                "    PID sh  T  cpu T, tree T  exit 0",
                "      PID sh  T  cpu T  exit 0",
                "    PID sh  T  cpu T  exit 0",
            ], "\(text.stdout)")
        }
    }
}
