import GRDB
import Glibc
@testable import ProcWatchStore
import Testing

/// `procwatch history` run as a user would, on a store with known processes at fixed
/// times (no kernel), and its parts: times, quoting, the query's index.
@Suite("History (no kernel)")
struct HistoryTests {
    static let header = "START                       USER         PID        LIFETIME             CPU EXIT              COMMAND"
    static let lines = [
        "2026-11-23T00:00:00.000000Z nobody      2001       1.500000s               - exit 0            sh -c 'echo hi'",
        "2026-11-23T00:00:10.000000Z root        2002       2.000000s       0.000000s exit 3            make -j2",
        "2026-11-23T01:00:00.000000Z root        2003     100.000000s               - killed by SIGKILL sleep 100",
        "2026-11-23T02:00:00.000000Z root        2004       0.250000s               - exit 0            printf $'%s\\n' 'it'\\''s'",
        "2026-11-23T02:01:00.000000Z nobody      2005       3.000000s               - SIGSEGV (core dumped) /usr/bin/ssh host",
        "2026-11-23T02:02:00.000000Z root        2006               -               - unknown           tail -f log",
    ]

    /// `procwatch history ARGUMENTS`: exit status (a death by signal as minus the raw wait
    /// status, never equal to an exit status), standard output's lines, standard error.
    func history(_ arguments: [String]) throws -> (status: Int32, lines: [String], stderr: String) {
        let run = try Spawn.capture([Spawn.procwatchBinary, "history"] + arguments)
        return (run.status & 0x7F == 0 ? run.status >> 8 : -run.status, run.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init), run.stderr)
    }

    func withWorkload(_ body: (String) throws -> Void) throws {
        let path = StoreWorkload.temporaryPath("history.db")
        defer { StoreWorkload.remove(path) }
        try HistoryWorkload.record(into: path)
        try body(path)
    }

    @Test func everyProcessOneLineOldestFirst() throws {
        try withWorkload { path in
            let all = try history(["--file", path])
            #expect(all.status == 0, "\(all.stderr)")
            #expect(all.lines == [Self.header] + Self.lines)
            #expect(all.stderr == "")
        }
    }

    @Test func eachFilterSelectsExactly() throws {
        try withWorkload { path in
            let cases: [([String], [Int])] = [
                (["--since", "2026-11-23T01:00:00Z"], [2, 3, 4, 5]),
                (["--since", "2026-11-23 01:00", "--until", "2026-11-23T02:01:00+00:00"], [2, 3]),
                (["--until", "2026-11-23T03:00:10+01:00"], [0, 1, 2, 3]),  // 02:00:10 UTC
                (["--user", "nobody"], [0, 4]),
                (["--user", "0"], [1, 2, 3, 5]),
                (["--comm", "^ssh$"], [4]),  // the program, /usr/bin/ssh without its directory
                (["--comm", "^(make|tail)$"], [1, 5]),
                (["--failed"], [1, 2, 4]),
                (["--failed", "--user", "root"], [1, 2]),
                (["--limit", "2"], [4, 5]),
                (["--limit", "2", "--failed"], [2, 4]),
                (["--limit", "100", "--comm", "sh"], [0, 4]),
            ]
            for (arguments, expected) in cases {
                let run = try history(["--file", path] + arguments)
                #expect(run.status == 0, "\(arguments): \(run.stderr)")
                #expect(run.lines == [Self.header] + expected.map { Self.lines[$0] }, "\(arguments)")
            }
            let none = try history(["--file", path, "--since", "2026-11-24", "--failed"])
            #expect(none.status == 1)
            #expect(none.lines == [])
            #expect(none.stderr == "procwatch: no process in \(path) matches --since 2026-11-24 --failed\n")
        }
    }

    @Test func theStateDirectoryHoldsHistoryDB() throws {
        let directory = StoreWorkload.temporaryPath("state")
        mkdir(directory, 0o755)
        defer {
            StoreWorkload.remove(directory + "/history.db")
            rmdir(directory)
        }
        try HistoryWorkload.record(into: directory + "/history.db")
        let run = try history(["--state-dir", directory + "/", "--comm", "make"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.lines == [Self.header, Self.lines[1]])
    }

    @Test func jsonLinesWithTypedFields() throws {
        try withWorkload { path in
            let run = try history(["--file", path, "--json"])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.lines == [
                #"{"start":"2026-11-23T00:00:00.000000Z","uid":65534,"user":"nobody","pid":2001,"ppid":100,"comm":"sh","exe":"/usr/bin/dash","cmdline":["sh","-c","echo hi"],"duration_s":1.500000,"status":{"exited":0}}"#,
                #"{"start":"2026-11-23T00:00:10.000000Z","uid":0,"user":"root","pid":2002,"ppid":100,"comm":"make","exe":"/usr/bin/make","cmdline":["make","-j2"],"duration_s":2.000000,"cpu_user_us":0,"cpu_system_us":0,"status":{"exited":3}}"#,
                #"{"start":"2026-11-23T01:00:00.000000Z","uid":0,"user":"root","pid":2003,"ppid":100,"comm":"sleep","exe":"/usr/bin/sleep","cmdline":["sleep","100"],"duration_s":100.000000,"status":{"signaled":9,"core":false}}"#,
                #"{"start":"2026-11-23T02:00:00.000000Z","uid":0,"user":"root","pid":2004,"ppid":100,"comm":"printf","cmdline":["printf","%s\n","it's"],"duration_s":0.250000,"status":{"exited":0}}"#,
                #"{"start":"2026-11-23T02:01:00.000000Z","uid":65534,"user":"nobody","pid":2005,"ppid":100,"comm":"ssh","exe":"/usr/bin/ssh","cmdline":["/usr/bin/ssh","host"],"duration_s":3.000000,"status":{"signaled":11,"core":true}}"#,
                #"{"start":"2026-11-23T02:02:00.000000Z","uid":0,"user":"root","pid":2006,"ppid":100,"comm":"tail","exe":"/usr/bin/tail","cmdline":["tail","-f","log"]}"#,
            ])
        }
    }

    @Test func aProcessWithoutAnEndRunsWhileItsRecordingIsWrittenAndIsUnknownAfter() throws {
        let path = StoreWorkload.temporaryPath("running.db")
        defer { StoreWorkload.remove(path) }
        let running = "2026-11-23T02:02:00.000000Z root        2006               -               - running           tail -f log"
        do {
            let recorder = try HistoryWorkload.record(into: path, finish: false)
            let run = try history(["--file", path, "--comm", "tail"])
            #expect(run.lines == [Self.header, running], "\(run.stderr)")
            _ = recorder
        }
        // Its recorder is gone without an end (as after kill -9): nobody knows how 2006 ended.
        let after = try history(["--file", path, "--comm", "tail"])
        #expect(after.lines == [Self.header, Self.lines[5]], "\(after.stderr)")
    }

    @Test func badInputIsOneLine() throws {
        try withWorkload { path in
            let bad: [([String], Int32, String)] = [
                (["--since", "soon"], 64,
                 "--since 'soon' is not a time: use 3h, 90m, 2d (ago), today, yesterday (UTC midnight), 2026-11-23, '2026-11-23 03:00' or 2026-11-23T03:00:00Z"),
                (["--until", "2026-13-01"], 64,
                 "--until '2026-13-01' is not a time: use 3h, 90m, 2d (ago), today, yesterday (UTC midnight), 2026-11-23, '2026-11-23 03:00' or 2026-11-23T03:00:00Z"),
                (["--user", "no-such-user-here"], 64, "--user no-such-user-here: no such user"),
                (["--comm", "(unclosed"], 64, "--comm '(unclosed' is not a valid regular expression: expected ')'"),
                (["--limit", "0"], 64, "--limit takes a number of processes (1 or more), not 0"),
                (["--state-dir", "/tmp"], 64, "--state-dir, --file and --from each name the history: use one"),
                (["--pid", "1"], 64, "history does not take --pid"),
            ]
            for (arguments, status, message) in bad {
                let run = try history(["--file", path] + arguments)
                #expect(run.status == status, "\(arguments)")
                #expect(run.stderr == "procwatch: \(message)\n", "\(arguments)")
                #expect(run.lines == [], "\(arguments)")
            }
        }
        let missing = StoreWorkload.temporaryPath("absent")
        let noFile = try history(["--state-dir", missing])
        #expect(noFile.status == 1)
        #expect(noFile.stderr == "procwatch: \(missing)/history.db: no such file\n")
        let text = StoreWorkload.temporaryPath("text.db")
        defer { unlink(text) }
        let descriptor = open(text, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        _ = write(descriptor, "not a store\n", 12)
        close(descriptor)
        let notStore = try history(["--file", text])
        #expect(notStore.status == 1)
        #expect(notStore.stderr == "procwatch: \(text) is not an SQLite database\n")
    }

    @Test func timesAgoDaysAndTimestamps() {
        let now = HistoryWorkload.midnight + 37_800 * 1_000_000_000  // 10:30 UTC
        let hour: Int64 = 3_600_000_000_000
        #expect(HistoryTime.parse("3h", now: now) == now - 3 * hour)
        #expect(HistoryTime.parse("90m", now: now) == now - 3 * hour / 2)
        #expect(HistoryTime.parse("2d", now: now) == now - 48 * hour)
        #expect(HistoryTime.parse("45s", now: now) == now - 45_000_000_000)
        #expect(HistoryTime.parse("1w", now: now) == now - 168 * hour)
        #expect(HistoryTime.parse("today", now: now) == HistoryWorkload.midnight)
        #expect(HistoryTime.parse("yesterday", now: now) == HistoryWorkload.midnight - 24 * hour)
        #expect(HistoryTime.parse("2026-11-23", now: now) == HistoryWorkload.midnight)
        #expect(HistoryTime.parse("2026-11-23 03:00", now: now) == HistoryWorkload.midnight + 3 * hour)
        #expect(HistoryTime.parse("2026-11-23T03:00:30", now: now) == HistoryWorkload.midnight + 3 * hour + 30_000_000_000)
        #expect(HistoryTime.parse("2026-11-23T03:00:00.5Z", now: now) == HistoryWorkload.midnight + 3 * hour + 500_000_000)
        #expect(HistoryTime.parse("2026-11-23T03:00:00+01:00", now: now) == HistoryWorkload.midnight + 2 * hour)
        #expect(HistoryTime.parse("2026-11-23T03:00:00-05:30", now: now) == HistoryWorkload.midnight + 8 * hour + hour / 2)
        for bad in ["", "3", "h", "-3h", "3 h", "3y", "tomorrow", "2026-11-23T25:00", "2026-11-23T03:00+24:00", "23/11/2026"] {
            #expect(HistoryTime.parse(bad, now: now) == nil, "\(bad)")
        }
    }

    @Test func commandLinesAreQuotedOnlyWhereNeeded() {
        #expect(ShellWords.join(["ls", "-l", "/usr/lib/x86_64-linux-gnu", "a=b,c:d@e%f+g"]) == "ls -l /usr/lib/x86_64-linux-gnu a=b,c:d@e%f+g")
        #expect(ShellWords.join(["sh", "-c", "echo $HOME; ls *"]) == "sh -c 'echo $HOME; ls *'")
        #expect(ShellWords.join(["test", "", "x"]) == "test '' x")
        #expect(ShellWords.join(["echo", "it's"]) == #"echo 'it'\''s'"#)
        #expect(ShellWords.join(["printf", "a\tb\n", "it's\\", "\u{1B}[0m"]) == #"printf $'a\tb\n' 'it'\''s\' $'\x1b[0m'"#)
        #expect(ShellWords.join(["cat", "café.txt"]) == "cat café.txt")
    }

    @Test func theQueryReadsThroughTheIndexes() throws {
        let path = StoreWorkload.temporaryPath("plan.db")
        defer { StoreWorkload.remove(path) }
        try HistoryWorkload.record(into: path)
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        var query = HistoryQuery()
        query.uid = 0
        query.failedOnly = true
        for descending in [false, true] {
            let plan = try queue.read { db in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + HistoryReader.sql(query, descending: descending),
                                 arguments: [1, 0, Int64.max, 0]).map { $0["detail"] as String }
            }
            #expect(plan.contains { $0.hasPrefix("SEARCH processes USING INDEX processes_start (recording=? AND <expr>>? AND <expr><?)") },
                    "\(plan)")
            // A scan of the partial index: its rows are the exec_failed events only.
            #expect(plan.contains { $0 == "SCAN events USING INDEX events_exec_failed" }, "\(plan)")
            #expect(!plan.contains { $0.contains("USE TEMP B-TREE") }, "\(plan)")
        }
    }
}
