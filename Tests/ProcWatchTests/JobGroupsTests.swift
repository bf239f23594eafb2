import Testing
@testable import ProcWatch

/// Rule-defined groups on scripted events (no kernel).
@Suite("Job groups")
struct JobGroupsTests {
    func event(_ detail: ProcessEvent.Detail, _ at: UInt64) -> ProcessEvent {
        ProcessEvent(detail: detail, timestamp: EventTimestamp(monotonicNanoseconds: at, unixNanoseconds: Int64(at)))
    }
    func task(_ pid: Int32) -> TaskID { TaskID(pid: pid, tid: pid) }
    func record(_ pid: Int32, _ name: String, _ argv: [String], uid: UInt32 = 0) -> ProcessRecord {
        ProcessRecord(pid: pid, parentPID: 1, name: name, commandLine: argv, uid: uid)
    }

    @Test func nearestClaimWinsAndMembershipIsInherited() throws {
        let groups = try JobGroups(rules: [("build", .name("^make$")), ("compile", .name("^cc1$")), ("web", .uid(33))])
        let joined = Recorder<String>()
        let emptied = Recorder<String>()
        groups.onJoin { group, pid in joined.append("\(group) \(pid)") }
        groups.onEmpty { emptied.append($0) }
        groups.apply(event(.exec(task(10)), 1), record: record(10, "make", ["make", "-j2"]))
        groups.apply(event(.fork(parent: task(10), child: task(11)), 2), record: record(11, "make", ["make", "-j2"]))
        groups.apply(event(.exec(task(11)), 3), record: record(11, "cc", ["cc", "-c", "a.c"]))       // still build
        groups.apply(event(.fork(parent: task(11), child: task(12)), 4), record: nil)
        groups.apply(event(.exec(task(12)), 5), record: record(12, "cc1", ["/usr/lib/gcc/cc1", "a.c"])) // claimed by compile
        groups.apply(event(.fork(parent: task(12), child: TaskID(pid: 12, tid: 13)), 6), record: nil)  // a thread
        #expect(groups.members(of: "build") == [10, 11])
        #expect(groups.members(of: "compile") == [12])
        #expect(groups.tree(of: "build").map { "\($0.pid)<\($0.parent)" } == ["10<0", "11<10"])
        groups.apply(event(.exit(TaskID(pid: 12, tid: 13), waitStatus: 0, exitSignal: -1, parent: task(0)), 7), record: nil)
        groups.apply(event(.exit(task(12), waitStatus: 256, exitSignal: 17, parent: task(11)), 8), record: nil)
        groups.apply(event(.exit(task(11), waitStatus: 0, exitSignal: 17, parent: task(10)), 9), record: nil)
        groups.apply(event(.exit(task(10), waitStatus: 0, exitSignal: 17, parent: task(1)), 10), record: nil)
        #expect(joined.all == ["build 10", "build 11", "build 12", "compile 12"])
        #expect(emptied.all == ["compile", "build"])
        let summaries = groups.summaries
        #expect(summaries.map(\.name) == ["build", "compile", "web"])
        #expect(summaries.map(\.started) == [3, 1, 0])
        #expect(summaries.map(\.failed) == [0, 1, 0])
        #expect(summaries.map(\.peak) == [3, 1, 0])
        #expect(summaries.map(\.live) == [0, 0, 0])
        #expect(summaries.map(\.threads) == [0, 1, 0])
        #expect(summaries.map(\.wallSeconds) == [9e-9, 3e-9, nil])  // first arrival to last exit
    }

    @Test func uidAndExecutableRules() throws {
        let groups = try JobGroups(rules: [("web", .uid(33)), ("cron", .executable("/usr/sbin/cron"))])
        groups.apply(event(.uid(task(20), real: 33, effective: 33), 1), record: record(20, "php", ["php-fpm"], uid: 33))
        var cron = record(21, "cron", ["/usr/sbin/cron", "-f"])
        cron.executable = "/usr/sbin/cron"
        groups.apply(event(.exec(task(21)), 2), record: cron)
        #expect(groups.members(of: "web") == [20])
        #expect(groups.members(of: "cron") == [21])
    }

    @Test func aRootProcessGroupAndAMoreSpecificRule() throws {
        let groups = try JobGroups(rules: [("session", .process(40)), ("compile", .name("^cc1$"))])
        #expect(groups.members(of: "session") == [40])
        groups.apply(event(.fork(parent: task(40), child: task(41)), 1), record: record(41, "bash", ["bash"]))
        groups.apply(event(.exec(task(41)), 2), record: record(41, "cc1", ["cc1"]))
        groups.apply(event(.fork(parent: task(40), child: task(42)), 3), record: record(42, "bash", ["bash"]))
        #expect(groups.members(of: "session") == [40, 42])
        #expect(groups.members(of: "compile") == [41])
        #expect(groups.summaries.map(\.started) == [3, 1])
    }

    /// Processes running before the watch join by ancestry: the nearest claim up the
    /// chain wins, a root brings its descendants, and unclaimed processes stay out.
    @Test func processesRunningAtTheStartAreAdoptedByAncestry() throws {
        let groups = try JobGroups(rules: [("session", .process(60)), ("build", .name("^make$")), ("cron", .executable("/usr/sbin/cron"))])
        let joined = Recorder<String>()
        groups.onJoin { group, pid in joined.append("\(group) \(pid)") }
        func running(_ pid: Int32, parent: Int32, _ name: String, executable: String? = nil) -> ProcessRecord {
            ProcessRecord(pid: pid, parentPID: parent, name: name, commandLine: [name], executable: executable)
        }
        groups.adopt([
            running(1, parent: 0, "init"),
            running(60, parent: 1, "bash"), running(61, parent: 60, "vim"),
            running(62, parent: 60, "make"), running(63, parent: 62, "cc1"), running(64, parent: 63, "as"),
            running(70, parent: 1, "cron", executable: "/usr/sbin/cron"), running(71, parent: 70, "sh"),
            running(80, parent: 1, "sshd"), running(81, parent: 999, "orphan"),
        ], at: 5)
        #expect(groups.members(of: "session") == [60, 61])
        #expect(groups.members(of: "build") == [62, 63, 64])
        #expect(groups.members(of: "cron") == [70, 71])
        #expect(groups.tree(of: "build").map { "\($0.pid)<\($0.parent)" } == ["62<60", "63<62", "64<63"])
        #expect(joined.all == ["session 61", "build 62", "build 63", "build 64", "cron 70", "cron 71"])  // by pid; the root was in from the start
        #expect(groups.summaries.map(\.started) == [2, 3, 2])
        #expect(groups.summaries.map(\.live) == [2, 3, 2])
        // Adopted members are then followed like any other: a fork joins, an exit leaves.
        groups.apply(event(.fork(parent: task(71), child: task(72)), 6), record: nil)
        groups.apply(event(.exit(task(70), waitStatus: 0, exitSignal: 17, parent: task(1)), 7), record: nil)
        #expect(groups.members(of: "cron") == [71, 72])
        #expect(groups.summaries.map(\.firstJoin) == [5, 5, 5])
    }

    @Test func exitWatchersGetTheMembersAccounting() throws {
        let groups = try JobGroups(rules: [("session", .process(50))])
        let exits = Recorder<String>()
        groups.onExit { group, pid, status, records in
            exits.append("\(group) \(pid) \(status) \(records.map(\.name)) \(records.map(\.exitCode))")
        }
        groups.apply(event(.fork(parent: task(50), child: task(51)), 1), record: nil)
        let record = GoldenTaskstats.version16.withUnsafeBytes { TaskstatsRecord(id: 51, isProcessTotal: false, bytes: $0) }
        groups.account(record)  // sent by the kernel just before the exit event
        groups.apply(event(.exit(task(51), waitStatus: 768, exitSignal: 17, parent: task(50)), 2), record: nil)
        #expect(exits.all == ["session 51 exit 3 [\"golden\"] [768]"])
        #expect(groups.summaries.first?.usage.cpuMicroseconds == record.userMicroseconds + record.systemMicroseconds)
    }

    /// Claims (what `--cgroups` moves into a group's cgroup): a rule matching at exec (again
    /// too), a running process a rule matches itself, a `pid:` root at the start; never a
    /// process that joins by inheritance.
    @Test func claimsAreTheProcessesARuleMatchesNotTheirInheritors() throws {
        let groups = try JobGroups(rules: [("session", .process(90)), ("build", .name("^make$"))])
        let claimed = Recorder<String>()
        groups.onClaim { group, pid in claimed.append("\(group) \(pid)") }
        func running(_ pid: Int32, parent: Int32, _ name: String) -> ProcessRecord {
            ProcessRecord(pid: pid, parentPID: parent, name: name, commandLine: [name])
        }
        groups.adopt([running(90, parent: 1, "bash"), running(91, parent: 90, "vim"),
                      running(92, parent: 1, "make"), running(93, parent: 92, "cc")], at: 1)
        #expect(claimed.all == ["session 90", "build 92"])
        groups.apply(event(.fork(parent: task(90), child: task(94)), 2), record: record(94, "bash", ["bash"]))
        groups.apply(event(.exec(task(94)), 3), record: record(94, "make", ["make"]))
        groups.apply(event(.fork(parent: task(94), child: task(95)), 4), record: record(95, "make", ["make"]))
        groups.apply(event(.exec(task(95)), 5), record: record(95, "make", ["make", "-C", "sub"]))
        groups.apply(event(.exec(task(91)), 6), record: record(91, "less", ["less"]))
        #expect(claimed.all == ["session 90", "build 92", "build 94", "build 95"])
        #expect(groups.members(of: "build") == [92, 93, 94, 95])
        #expect(groups.members(of: "session") == [90, 91])
    }

    @Test func invalidRegexIsAnError() {
        #expect(throws: (any Error).self) { try JobGroups(rules: [("x", .name("("))]) }
    }
}
