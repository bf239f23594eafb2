import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import GRDB
import Glibc
import Testing
@testable import ProcWatch
@testable import ProcWatchCLI
@testable import ProcWatchStore
@testable import ProcWatchStoreCLI

extension LiveKernelTests {
    /// `procwatch record` and `procwatch report` run as a user would, against the real kernel.
    @Suite("procwatch record")
    struct RecordCommandTests {
        func rows(_ path: String, _ sql: String) throws -> [String] { try StoreWorkload.rows(path, sql) }

        @Test func aCommandsTreeExactly() throws {
            let path = StoreWorkload.temporaryPath("live.db")
            defer { StoreWorkload.remove(path) }
            let script = "sleep 0.05; /bin/sh -c 'sleep 0.05; exit 3'; exit 5"
            let run = try Spawn.capture([Spawn.procwatchBinary, "record", "-o", path, "--", "/bin/sh", "-c", script])
            #expect(run.status >> 8 == 5, "the command's status; stderr: \(run.stderr)")
            #expect(run.stderr == SourceLine.bpf)
            #expect(try rows(path, "SELECT end_reason, command, taskstats FROM meta") == [#"command|["/bin/sh","-c","\#(script)"]|1"#])
            let outer = #"["/bin/sh","-c","sleep 0.05; /bin/sh -c 'sleep 0.05; exit 3'; exit 5"]"#
            let inner = #"["/bin/sh","-c","sleep 0.05; exit 3"]"#
            let sleep = #"["sleep","0.05"]"#
            // Parents by row number (1 = the command), then what each ran and how it ended.
            #expect(try rows(path, """
                SELECT p.id - (SELECT min(id) FROM processes), coalesce(p.parent - (SELECT min(id) FROM processes), '-'),
                       p.forked, p.comm, p.cmdline, json_array_length(p.execs), p.exit_code, p.status, p.failed,
                       p.cpu_user_us IS NOT NULL, p.duration_s >= 0.05
                FROM processes p ORDER BY p.id
                """) == [
                    "0|-|1|sh|\(outer)|1|1280|{\"exited\":5}|1|1|1",
                    "1|0|1|sleep|\(sleep)|1|0|{\"exited\":0}|0|1|1",
                    "2|0|1|sh|\(inner)|1|768|{\"exited\":3}|1|1|1",
                    "3|2|1|sleep|\(sleep)|1|0|{\"exited\":0}|0|1|1",
                ])
            // Every process: fork, exec, exit, in that order, with the contract's fields.
            for pid in try rows(path, "SELECT pid FROM processes ORDER BY id") {
                #expect(try rows(path, "SELECT event FROM events WHERE pid = \(pid) AND thread IS NOT 1 ORDER BY id") == ["fork", "exec", "exit"])
            }
            #expect(try rows(path, """
                SELECT e.cmdline, e.comm, e.exe, e.uid, e.exit_code, e.exit_signal, e.status, e.duration_s > 0,
                       e.ppid = p.ppid, length(e.time)
                FROM events e JOIN processes p ON p.id = e.process WHERE e.event = 'exit' AND e.thread = 0 ORDER BY e.id
                """) == [
                    "\(sleep)|sleep|/usr/bin/sleep|0|0|17|{\"exited\":0}|1|1|27",
                    "\(sleep)|sleep|/usr/bin/sleep|0|0|17|{\"exited\":0}|1|1|27",
                    "\(inner)|sh|/usr/bin/dash|0|768|17|{\"exited\":3}|1|1|27",
                    "\(outer)|sh|/usr/bin/dash|0|1280|17|{\"exited\":5}|1|1|27",
                ])
            #expect(try rows(path, """
                SELECT j.root = (SELECT min(id) FROM processes), j.command = m.command, j.exit_code, j.status, j.processes,
                       j.failed, j.wall_s >= 0.1, j.cpu_user_us + j.cpu_system_us >= 0
                FROM jobs j JOIN meta m ON m.id = j.recording
                """) == ["1|1|1280|{\"exited\":5}|4|2|1|1"])
            #expect(try rows(path, "SELECT count(*) FROM events WHERE event = 'lost'") == ["0"])

            let report = try Spawn.capture([Spawn.procwatchBinary, "report", path])
            #expect(report.status == 0, "\(report.stderr)")
            let lines = report.stdout.split(separator: "\n").map(String.init)
            #expect(lines.contains("  processes  4 (2 failed, 0 threads)"), "\(report.stdout)")
            #expect(lines.contains { $0.hasPrefix("  command    /bin/sh -c \(script): exit 5, wall ") && $0.hasSuffix(", 4 processes, 2 failed") })
            let tree = try #require(lines.firstIndex(of: "process tree (lifetime, CPU, exit):"))
            let shape = lines[(tree + 1)...(tree + 4)].map { line in
                line.replacing(#/\d+\.\d{6}s/#, with: "T").replacing(#/^( *)\d+ /#) { "\($0.1)PID " }
            }
            #expect(shape == [
                "  PID /bin/sh -c \(script)  T  cpu T  exit 5",
                "    PID sleep 0.05  T  cpu T  exit 0",
                "    PID /bin/sh -c sleep 0.05; exit 3  T  cpu T  exit 3",
                "      PID sleep 0.05  T  cpu T  exit 0",
            ], "\(report.stdout)")
        }

        @Test func anExecOnlyRecordingStillEndsEveryProcess() throws {
            let path = StoreWorkload.temporaryPath("exec-only.db")
            defer { StoreWorkload.remove(path) }
            let script = "/bin/true; sh -c 'exit 3'"
            let run = try Spawn.capture([Spawn.procwatchBinary, "record", "-o", path, "-e", "exec", "--", "/bin/sh", "-c", script])
            #expect(run.status >> 8 == 3, "\(run.stderr)")
            #expect(try rows(path, "SELECT event, count(*) FROM events GROUP BY event") == ["exec|3"])
            // dash runs the last command as a child and exits with its status: two failures.
            #expect(try rows(path, "SELECT comm, exit_code, failed, end_ktime_ns IS NOT NULL FROM processes ORDER BY id")
                == ["sh|768|1|1", "true|0|0|1", "sh|768|1|1"])
            let report = try Spawn.capture([Spawn.procwatchBinary, "report", path])
            let lines = report.stdout.split(separator: "\n").map(String.init)
            #expect(lines.contains("  processes  3 (2 failed, 0 threads)"), "\(report.stdout)")
            #expect(lines.contains { $0.hasPrefix("  command    /bin/sh -c \(script): exit 3, wall ") && $0.hasSuffix(", 3 processes, 2 failed") },
                    "\(report.stdout)")
        }

        @Test func aTaskstatsOverflowBecomesALostEventOfTheRecording() throws {
            let path = StoreWorkload.temporaryPath("taskstats-overflow.db")
            defer { StoreWorkload.remove(path) }
            let listener = try TaskstatsListener(receiveBufferBytes: 4096)  // a few records at most
            defer { listener.close() }
            let recorder = try StoreWorkload.recorder(path, taskstats: true)
            let pipeline = RecordPipeline(recorder: recorder, selection: .all, filter: LiveFilter(),
                                          ownPID: getpid(), recordsCommand: false)
            let stage = EnrichmentStage(options: .init(seedsFromProc: false), files: { ProcFS() }, exitRecords: { listener })
            var last: Int32 = 0
            for _ in 0..<60 { last = try Spawn.run(["/bin/true"]).pid }
            // Two batches as the reader hands them over, each with an exit (records are read
            // for batches that hold one): the first finds the overflow, the second nothing new.
            let exit = ProcessEvent(detail: .exit(TaskID(pid: last, tid: last), waitStatus: 0, exitSignal: 17,
                                                  parent: TaskID(pid: getpid(), tid: getpid())), timestamp: .now)
            for _ in 0..<2 {
                stage.prepare([.event(exit)])
                if let lost = stage.exitRecordLoss() { pipeline.handle(stage.enrich(lost, at: nil)) }
            }
            try #require(listener.overflowCount >= 1)
            try recorder.finish(reason: "signal")
            #expect(try rows(path, "SELECT event, count, reason FROM events") == ["lost|\(listener.lostRecords)|taskstats"])
        }

        @Test func theReportsJSONAndSVGOfALiveRecording() throws {
            let path = StoreWorkload.temporaryPath("live-json.db")
            let svg = path + ".svg", html = path + ".html"
            defer {
                StoreWorkload.remove(path)
                unlink(svg)
                unlink(html)
            }
            let run = try Spawn.capture([Spawn.procwatchBinary, "record", "-o", path, "--", "/bin/sh", "-c",
                                         "/bin/sh -c 'sleep 0.02; kill -9 $$'; sleep 0.01; exit 0"])
            #expect(run.status == 0, "\(run.stderr)")
            let report = try Spawn.capture([Spawn.procwatchBinary, "report", "--json", "--svg", svg, "--html", html, path])
            #expect(report.status == 0, "\(report.stderr)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any])
            let tree = try #require(json["tree"] as? [[String: Any]])
            #expect(tree.count == 1)
            let children = try #require(tree.first?["children"] as? [[String: Any]])
            #expect(children.map { $0["cmdline"] as? [String] ?? [] } == [["/bin/sh", "-c", "sleep 0.02; kill -9 $$"], ["sleep", "0.01"]])
            let killed = try #require(children.first?["status"] as? [String: Any])
            #expect(killed["signaled"] as? Int == 9)
            #expect(killed["core"] as? Bool == false)
            let failed = try #require(json["failed"] as? [[String: Any]])
            #expect(failed.map { $0["cmdline"] as? [String] ?? [] } == [["/bin/sh", "-c", "sleep 0.02; kill -9 $$"]])
            let document = try String(contentsOfFile: svg, encoding: .utf8)
            let parser = XMLParser(data: Data(document.utf8))
            let structure = TimelineTests.Structure()
            parser.delegate = structure
            #expect(parser.parse())
            #expect(structure.order.count == 4)  // the command, the inner shell and its `true`, sleep
            let root = try #require(structure.order.first)
            #expect(structure.processes[root]?.parent == nil)
            #expect(structure.order.dropFirst().map { structure.processes[$0]?.parent } == [root, structure.order[1], root])
            for pid in structure.order { #expect(structure.processes[pid]?.bars == 1) }
            #expect(structure.processes[structure.order[1]]?.exits == ["exit failed"])
            #expect(try String(contentsOfFile: html, encoding: .utf8).contains("<svg "))
            let png = try Spawn.capture(["rsvg-convert", "-o", svg + ".png", svg])
            unlink(svg + ".png")
            #expect(png.status == 0, "\(png.stderr)")
        }

        @Test func sigintAndSigtermEndAHostRecordingCleanly() throws {
            for signal in [SIGINT, SIGTERM] {
                let path = StoreWorkload.temporaryPath("signal.db")
                defer { StoreWorkload.remove(path) }
                var marker: Int32 = 0
                let run = try Spawn.capture([Spawn.procwatchBinary, "record", "-o", path, "-e", "exec,exit"], started: true) { pid in
                    usleep(200_000)
                    marker = try Spawn.run(["/bin/sh", "-c", "exit 7"]).pid
                    usleep(100_000)
                    kill(pid, signal)
                }
                #expect(run.status == 0, "\(run.stderr)")
                #expect(try ListenerProbe.eventuallyReleased())
                #expect(try rows(path, "SELECT end_reason, ended IS NOT NULL, filters FROM meta") == ["signal|1|-e exec,exit"])
                #expect(try rows(path, "SELECT event, exit_code FROM events WHERE pid = \(marker) AND thread IS NOT 1 ORDER BY id")
                    == ["exec|-", "exit|1792"])
                #expect(try rows(path, "SELECT count(*) FROM events WHERE event = 'fork'") == ["0"])
            }
        }

        @Test func durationEndsARecording() throws {
            let path = StoreWorkload.temporaryPath("duration.db")
            defer { StoreWorkload.remove(path) }
            let run = try Spawn.capture([Spawn.procwatchBinary, "record", "-o", path, "-D", "0.5", "--comm", "^no-such-name$"])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(try rows(path, "SELECT end_reason, count(*) FROM meta") == ["duration|1"])
        }

        @Test func kill9KeepsEveryEventUpToTheLastBatch() throws {
            let path = StoreWorkload.temporaryPath("kill9.db")
            let log = path + ".log", pidFile = path + ".pid"
            defer {
                StoreWorkload.remove(path)
                unlink(log)
                unlink(pidFile)
            }
            // Each iteration runs `true N` and only then logs N (echo is a builtin: no event).
            let script = "echo $$ > \(pidFile); i=0; while [ $i -lt 400 ]; do /bin/true $i; echo $i >> \(log); i=$((i+1)); sleep 0.005; done"
            let null = open("/dev/null", O_WRONLY | O_CLOEXEC)
            // The connector's listener count is what a SIGKILLed recorder leaks: this one's.
            let procwatch = try Spawn.start([Spawn.procwatchBinary, "record", "--source", "connector", "-o", path, "--", "/bin/sh", "-c", script],
                                            stdout: null, stderr: null)
            close(null)
            #expect(eventually { access(log, F_OK) == 0 })
            // procwatch subscribed before it started the command: keep copies of its two
            // connector sockets (the subscription and its exec doorbell), to give back exactly
            // the listener counts the kill leaks.
            let adopted = try ListenerRelease.adoptConnectorSockets(of: procwatch)
            #expect(adopted.count == 2)
            usleep(500_000)
            let loggedBefore = (try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").count ?? 0
            usleep(150_000)  // well past the end of the batch that held the logged iterations
            kill(procwatch, SIGKILL)
            Spawn.wait(procwatch)
            if let loop = (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
                kill(loop, SIGKILL)
            }
            #expect(ListenerRelease.release(adopted) == 2)

            #expect(loggedBefore > 10)
            // The file opens (read-only, as report does), the recording has no end, and every
            // iteration logged before the kill is there whole: fork, exec and exit.
            let report = try ReportReader.load(path: path)
            #expect(report.sessions.map(\.endReason) == [nil])
            // The loop's children in fork order: all but the last hold fork, exec and exit.
            let children = try rows(path, """
                SELECT id, exit_code FROM processes WHERE parent = (SELECT min(id) FROM processes) ORDER BY id
                """)
            let complete = try children.dropLast().map { child in
                let id = child.split(separator: "|")[0]
                return (try rows(path, "SELECT event FROM events WHERE process = \(id) ORDER BY id"), child.split(separator: "|")[1])
            }
            // Iteration N logs after `true N` exited: a `true` and a `sleep` per iteration before it.
            #expect(complete.count >= 2 * loggedBefore - 1, "\(complete.count) recorded, \(loggedBefore) iterations logged 150 ms before the kill")
            for (events, exitCode) in complete {
                #expect(events == ["fork", "exec", "exit"])
                #expect(exitCode == "0")
            }
        }

        @Test func aFullDiskStopsTheRecordingAndKeepsWhatWasWritten() throws {
            let directory = "/tmp/procwatch-full-\(getpid())"
            mkdir(directory, 0o700)
            defer { rmdir(directory) }
            let mount = try Spawn.capture(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", directory])
            try #require(mount.status == 0, "\(mount.stderr)")
            defer { _ = try? Spawn.run(["umount", directory]) }
            let path = directory + "/full.db"
            // The loop ends by itself once procwatch is gone (`kill -0` is a builtin: no
            // event), so nothing is left to kill by a pid that may have been reused since.
            let script = "i=0; while [ $i -lt 3000 ] && kill -0 $PPID 2>/dev/null; do /bin/true $i; i=$((i+1)); done"
            let (run, requests) = try ConnectorRequests.capture([Spawn.procwatchBinary, "record", "--source", "connector", "-o", path,
                                                                 "--", "/bin/sh", "-c", script])
            #expect(run.status >> 8 == 1)
            #expect(run.stderr == SourceLine.connector + "procwatch: the disk is full: recording to \(path) stopped; everything committed before is kept\n")
            // Its own subscription and exec doorbell were given back: each socket's last word to
            // the kernel was IGNORE. (Not the kernel's listener count: any other listener on
            // the host raises that one.)
            #expect(ConnectorRequests.perSocket(requests) == [[.listen, .ignore], [.listen, .ignore]])
            let report = try ReportReader.load(path: path)
            #expect(report.processes.count > 3)
            #expect(report.processes.allSatisfy { $0.program == "sh" || $0.program == "true" })
            for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
        }

        @Test func badInputGetsOneLine() throws {
            let directory = "/tmp/procwatch-bad-\(getpid())"
            mkdir(directory, 0o700)
            defer {
                _ = try? Spawn.run(["chattr", "-i", directory + "/immutable.db"])
                _ = try? Spawn.run(["rm", "-rf", directory])
            }
            func file(_ name: String, sql: String? = nil, text: String? = nil) throws -> String {
                let path = directory + "/" + name
                if let text { try text.write(toFile: path, atomically: false, encoding: .utf8) }
                if let sql {
                    let queue = try DatabaseQueue(path: path)
                    try queue.write { try $0.execute(sql: sql) }
                    try queue.close()
                }
                return path
            }
            let text = try file("notes.db", text: "not a database\n")
            let other = try file("other.db", sql: "CREATE TABLE t (x)")
            let ours = "PRAGMA application_id = \(StoreSchema.applicationID);"
            let newer = try file("newer.db", sql: "CREATE TABLE meta (x); \(ours) PRAGMA user_version = 7")
            let older = try file("older.db", sql: "CREATE TABLE meta (x); \(ours)")
            // Chrome's databases have a `meta` table (and no application_id): not ours, whatever their user_version.
            let chrome = "CREATE TABLE meta (key LONGVARCHAR NOT NULL UNIQUE PRIMARY KEY, value LONGVARCHAR);"
            let metaVersion0 = try file("meta0.db", sql: chrome)
            let metaVersion1 = try file("meta1.db", sql: chrome + " PRAGMA user_version = 1")
            let fossil = try file("fossil.db", sql: "CREATE TABLE meta (x); PRAGMA application_id = 252006674; PRAGMA user_version = 1")
            let foreign = "is an SQLite database of another program (no procwatch application_id or tables)"
            let immutable = try file("immutable.db", text: "")
            let chattr = try Spawn.run(["chattr", "+i", immutable])
            let cases: [([String], String)] = [
                (["record", "-o", text], "\(text) is not an SQLite database"),
                (["record", "-o", other], "\(other) \(foreign)"),
                (["record", "-o", metaVersion0], "\(metaVersion0) \(foreign)"),
                (["record", "-o", metaVersion1], "\(metaVersion1) \(foreign)"),
                (["record", "-o", fossil],
                 "\(fossil) is an SQLite database of another program (application_id 0x0f055112, not procwatch's 0x70776368)"),
                (["record", "-o", newer], "\(newer) has schema version 7, newer than this procwatch's (1): use a newer procwatch"),
                (["record", "-o", older], "\(older) has schema version 0, older than this procwatch's (1): record to a new file"),
                (["record", "-o", "/nonexistent/x.db"], "cannot write /nonexistent/x.db: no such directory /nonexistent"),
                (["record", "-o", "/proc/x.db"], "cannot write /proc/x.db: its directory /proc is not writable (No such file or directory)"),
                (["record", "-o", text, "-D", "0"], "-D takes a positive number of seconds (at most 10000000), not 0.0"),
                (["report", text], "\(text) is not an SQLite database"),
                (["report", other], "\(other) \(foreign)"),
                (["report", metaVersion0], "\(metaVersion0) \(foreign)"),
                (["report", metaVersion1], "\(metaVersion1) \(foreign)"),
                (["report", fossil],
                 "\(fossil) is an SQLite database of another program (application_id 0x0f055112, not procwatch's 0x70776368)"),
                (["report", older], "\(older) has schema version 0, older than this procwatch's (1): record to a new file"),
                (["report", newer], "\(newer) has schema version 7, newer than this procwatch's (1): use a newer procwatch"),
                (["report", directory + "/missing.db"], "\(directory)/missing.db: no such file"),
                (["report", text, "--since", "yesterday"],
                 "--since 'yesterday' is neither a UTC time (2026-11-23T03:00:00Z) nor a number of seconds"),
                (["report", text, "--pid", "1", "--tree", "1"], "--pid and --tree cannot be combined: --tree already includes the process"),
                (["report", text, "--comm", "("], "--comm '(' is not a valid regular expression"),
            ] + (chattr.status == 0 ? [(["record", "-o", immutable], "cannot write \(immutable): Operation not permitted")] : [])
            for (arguments, message) in cases {
                let run = try Spawn.capture([Spawn.procwatchBinary] + arguments)
                #expect(run.status >> 8 == 64, "\(arguments)")
                #expect(run.stderr.hasPrefix("procwatch: \(message)"), "\(arguments): \(run.stderr)")
                #expect(run.stderr.split(separator: "\n").count == 1, "\(arguments): \(run.stderr)")
            }
            #expect(try String(contentsOfFile: text, encoding: .utf8) == "not a database\n")
            #expect(try rows(other, "SELECT name FROM sqlite_master") == ["t"])
            // Refused before anything was written: not even switched to WAL mode.
            for path in [other, metaVersion0, metaVersion1, fossil] {
                #expect(try rows(path, "PRAGMA journal_mode") == ["delete"], "\(path)")
            }

            // A real recording: outputs are checked before it is read, and an empty selection says so.
            let recording = directory + "/workload.db"
            try StoreWorkload.record(into: recording)
            let empty = try file("empty.db", text: "")
            let svg = directory + "/t.svg"
            let reports: [([String], Int32, String)] = [
                (["report", empty], 64, "procwatch: \(empty) is empty (0 bytes): not a recording\n"),
                (["report", recording, "--svg", svg, "--html", "/nonexistent/t.html"], 64,
                 "procwatch: cannot write /nonexistent/t.html: No such file or directory\n"),
                (["report", recording, "--pid", "1"], 1, "procwatch: no process in \(recording) matches --pid 1\n"),
                (["report", recording, "--comm", "^nothing$", "--since", "0.5", "--svg", svg], 1,
                 "procwatch: no process in \(recording) matches --comm '^nothing$' --since 0.5\n"),
                (["report", recording, "--recording", "2"], 64, "procwatch: \(recording) has no recording #2 (it holds #1)\n"),
                (["report", recording, "--recording", "0"], 64, "procwatch: --recording takes a recording number (1 or more), not 0\n"),
                (["report", recording, "--recording", "1", "--last"], 64, "procwatch: --recording and --last both choose a recording: use one\n"),
            ]
            for (arguments, status, message) in reports {
                let run = try Spawn.capture([Spawn.procwatchBinary] + arguments)
                #expect(run.status >> 8 == status, "\(arguments)")
                #expect(run.stdout == "", "\(arguments)")
                #expect(run.stderr == message, "\(arguments)")
            }
            // The SVG that was opened before the HTML path failed is not left behind.
            #expect(access(svg, F_OK) != 0)
            let whole = try Spawn.capture([Spawn.procwatchBinary, "report", recording, "--last", "--svg", svg])
            #expect(whole.status == 0)
            #expect(whole.stdout.hasPrefix("procwatch report: \(recording)\n"))
            #expect(try String(contentsOfFile: svg, encoding: .utf8).hasPrefix("<svg "))
        }

        @Test func aSecondRecordIntoTheSameFileSaysItAppends() throws {
            let path = StoreWorkload.temporaryPath("twice.db")
            defer { StoreWorkload.remove(path) }
            let first = try Spawn.capture([Spawn.procwatchBinary, "record", "-o", path, "--", "/bin/sh", "-c", "exit 0"])
            #expect(first.status == 0)
            #expect(first.stderr == SourceLine.bpf)
            let second = try Spawn.capture([Spawn.procwatchBinary, "record", "-o", path, "--", "/bin/sh", "-c", "exit 4"])
            #expect(second.status >> 8 == 4)
            #expect(second.stderr == "procwatch: \(path) holds 1 earlier recording: appending this one as #2"
                    + " (`procwatch report \(path) --recording 2`, or --last, reports it alone)\n" + SourceLine.bpf)
            // The jobs each recording holds, up to their varying wall and CPU times.
            func commands(_ arguments: [String]) throws -> [String] {
                let run = try Spawn.capture([Spawn.procwatchBinary, "report", path] + arguments)
                return run.stdout.split(separator: "\n").filter { $0.hasPrefix("  command ") }
                    .map { String($0.prefix { $0 != "," }) }
            }
            #expect(try commands([]) == ["  command    /bin/sh -c exit 0: exit 0", "  command    /bin/sh -c exit 4: exit 4"])
            #expect(try commands(["--last"]) == ["  command    /bin/sh -c exit 4: exit 4"])
            #expect(try commands(["--recording", "1"]) == ["  command    /bin/sh -c exit 0: exit 0"])
        }
    }
}
