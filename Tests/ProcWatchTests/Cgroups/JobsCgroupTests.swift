import Foundation
import Glibc
import Testing
@testable import ProcWatch
@testable import ProcWatchCLI

extension RunLimitTests {
    /// `procwatch jobs --cgroups` against the real kernel: a claimed process is moved into its
    /// group's cgroup and its later children are born there, what it forked before the move
    /// stays out, the limits hold, the table shows the cgroup's figures, and every cgroup is
    /// gone afterwards with its members alive in procwatch's cgroup. Nested in
    /// ``RunLimitTests`` for its `.serialized`: each procwatch here sweeps stale cgroups,
    /// which one of those tests plants.
    @Suite("procwatch jobs with cgroups")
    struct JobsCgroupTests {
        /// The cgroup directory of `pid` in each controller's hierarchy (from /proc/PID/cgroup).
        static func places(of pid: Int32) -> [CgroupController: String] {
            let mountInfo = CgroupFiles.text("/proc/self/mountinfo") ?? ""
            let v2Root = CgroupLayout.mounts(in: mountInfo).first { $0.isV2 }?.mountPoint
            let layout = CgroupLayout(mountInfo: mountInfo, membership: CgroupFiles.text("/proc/\(pid)/cgroup") ?? "",
                                      v2Controllers: v2Root.flatMap { CgroupFiles.text($0 + "/cgroup.controllers") } ?? "")
            return layout.places.mapValues(\.directory)
        }

        /// The test's own cgroups (procwatch's, which it inherits).
        static var original: [CgroupController: String] { CgroupLayout.current().places.mapValues(\.directory) }

        /// The directories of a group's cgroup made by the procwatch of pid `owner`.
        static func inside(_ owner: Int32, _ group: String) -> [CgroupController: String] {
            original.mapValues { $0 + "/" + JobCgroup.groupName(owner: owner, group: group) }
        }

        /// The pids of `pid`'s children.
        static func children(of pid: Int32) -> [Int32] {
            (CgroupFiles.text("/proc/\(pid)/task/\(pid)/children") ?? "").split(separator: " ").compactMap { Int32($0) }
        }

        /// The group's line of the last table printed, split into its columns: GROUP LIVE
        /// STARTED THREADS FAILED PEAK CPU CG-CPU CG-PEAK-MEM (a number and `KiB`) REFUSED WALL.
        static func row(_ group: String, in stdout: String) throws -> [String] {
            try #require(lastRow(group, in: stdout), "\(stdout)")
        }

        /// ``row(_:in:)`` without recording an issue when there is none yet (for polling).
        static func lastRow(_ group: String, in stdout: String) -> [String]? {
            stdout.split(separator: "\n").last { $0.hasPrefix(group + " ") }?.split(separator: " ").map(String.init)
        }

        static func alive(_ pid: Int32) -> Bool { kill(pid, 0) == 0 }

        /// Waits until the table procwatch prints (every 0.2 s) shows `values` in the group's
        /// columns from LIVE on: the events that matter have been handled.
        static func waitForRow(_ group: String, _ values: [String], of procwatch: RunningProcwatch) -> Bool {
            eventually { lastRow(group, in: procwatch.stdout).map { Array($0.dropFirst().prefix(values.count)) == values } ?? false }
        }

        /// A pid: root is moved at the start; the child it had then stays out (still counted),
        /// a child it forks afterwards is born inside. SIGTERM: the cgroup goes, all three live
        /// on in procwatch's cgroup.
        @Test func aRootIsMovedAtTheStartAndItsLaterChildIsBornInside() throws {
            let gate = FIFOGate()
            defer { gate.remove() }
            let root = try Spawn.start(["/bin/sh", "-c", "/bin/sleep 60 & read go < \(gate.path); /bin/sleep 60 & wait"])
            var started = [root]
            defer {
                for pid in started.reversed() { kill(pid, SIGKILL) }
                Spawn.wait(root)
            }
            #expect(eventually { Self.children(of: root).count == 1 })
            let early = try #require(Self.children(of: root).first)
            started.append(early)
            let procwatch = try RunningProcwatch(["jobs", "--cgroups", "--interval", "0.2", "--group", "tree=pid:\(root)"])
            defer { procwatch.end() }
            let inside = Self.inside(procwatch.pid, "tree")
            #expect(eventually { Self.places(of: root) == inside }, "\(Self.places(of: root)) \(procwatch.stderr)")
            #expect(Self.places(of: early) == Self.original)
            gate.release()
            #expect(eventually { Self.children(of: root).count == 2 })
            let later = try #require(Self.children(of: root).first { $0 != early })
            started.append(later)
            #expect(Self.places(of: later) == inside)
            // live, started: the early child counted too.
            #expect(Self.waitForRow("tree", ["3", "3"], of: procwatch), "\(procwatch.stdout)")

            kill(procwatch.pid, SIGTERM)
            #expect(procwatch.wait(timeout: .seconds(20)) == 0, "\(procwatch.stderr)")
            let row = try Self.row("tree", in: procwatch.stdout)
            #expect(row[1...2] == ["3", "3"], "\(row)")
            for directory in inside.values { #expect(!RunLimitTests.exists(directory), "\(directory) is left") }
            for pid in [root, early, later] {
                #expect(Self.alive(pid))
                #expect(Self.places(of: pid) == Self.original, "\(pid)")
            }
        }

        /// A process is moved at its exec event: a child it forks before procwatch handles the
        /// event (procwatch stopped meanwhile) stays out, one forked after is born inside. -D
        /// end: the cgroup goes, the members live on in procwatch's cgroup.
        @Test func aChildForkedBeforeTheMoveStaysOutButIsCounted() throws {
            let shell = try LiveKernelTests.CommandLineTests().privateCopy(of: "/bin/sh", namedLike: "pwsh")
            let (exec, fork) = (FIFOGate(), FIFOGate())
            defer {
                shell.remove()
                exec.remove()
                fork.remove()
            }
            let launcher = try Spawn.start(["/bin/sh", "-c", "read go < \(exec.path); exec \(shell.path) -c '/bin/sleep 60 & read go < \(fork.path); /bin/sleep 60 & wait'"])
            var started = [launcher]
            defer {
                for pid in started.reversed() { kill(pid, SIGKILL) }
                Spawn.wait(launcher)
            }
            let procwatch = try RunningProcwatch(["jobs", "--cgroups", "--interval", "5", "--group", "shells=^\(shell.name)$", "-D", "6"])
            defer {
                kill(procwatch.pid, SIGCONT)
                procwatch.end()
            }
            _ = try #require(procwatch.waitForSourceLine())
            let inside = Self.inside(procwatch.pid, "shells")
            // The exec and the first fork happen while procwatch cannot handle them.
            kill(procwatch.pid, SIGSTOP)
            exec.release()
            #expect(eventually { Self.children(of: launcher).count == 1 })
            let early = try #require(Self.children(of: launcher).first)
            started.append(early)
            kill(procwatch.pid, SIGCONT)
            #expect(eventually { Self.places(of: launcher) == inside }, "\(procwatch.stderr)")
            #expect(Self.places(of: early) == Self.original)
            fork.release()
            #expect(eventually { Self.children(of: launcher).count == 2 })
            let later = try #require(Self.children(of: launcher).first { $0 != early })
            started.append(later)
            #expect(Self.places(of: later) == inside)

            #expect(procwatch.wait(timeout: .seconds(30)) == 0, "\(procwatch.stderr)")
            let row = try Self.row("shells", in: procwatch.stdout)
            #expect(row[1...2] == ["3", "3"], "\(row)")
            for directory in inside.values { #expect(!RunLimitTests.exists(directory), "\(directory) is left") }
            for pid in [launcher, early, later] {
                #expect(Self.alive(pid))
                #expect(Self.places(of: pid) == Self.original, "\(pid)")
            }
        }

        /// --max-processes 5: python (moved in as a claimed shell that execs it) and 4
        /// children fit, 16 of its 20 forks fail with EAGAIN, and REFUSED says 16.
        @Test func aGroupsProcessLimitRefusesForksAndTheTableCountsThem() throws {
            let shell = try LiveKernelTests.CommandLineTests().privateCopy(of: "/bin/sh", namedLike: "pwsh")
            let gate = FIFOGate()
            let counted = "/tmp/procwatch-refused-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            defer {
                shell.remove()
                gate.remove()
                unlink(counted)
            }
            let script = """
                import os, time
                failed = 0
                for _ in range(20):
                    try:
                        if os.fork() == 0:
                            time.sleep(1)
                            os._exit(0)
                    except BlockingIOError:
                        failed += 1
                while True:
                    try:
                        os.wait()
                    except ChildProcessError:
                        break
                open("\(counted)", "w").write(str(failed))
                """
            let procwatch = try RunningProcwatch(["jobs", "--cgroups", "--max-processes", "5", "--interval", "0.2",
                                                  "--group", "forkers=^\(shell.name)$"])
            defer { procwatch.end() }
            _ = try #require(procwatch.waitForSourceLine())
            let forker = try Spawn.start([shell.path, "-c", "read go < \(gate.path); exec /usr/bin/python3 -c '\(script)'"])
            defer {
                kill(forker, SIGKILL)
                Spawn.wait(forker)
            }
            #expect(eventually { Self.places(of: forker) == Self.inside(procwatch.pid, "forkers") }, "\(procwatch.stderr)")
            gate.release()
            #expect(Spawn.wait(forker, timeout: .seconds(30)) == 0)
            #expect(Self.waitForRow("forkers", ["0", "5"], of: procwatch), "\(procwatch.stdout)")
            let failed = try String(contentsOfFile: counted, encoding: .utf8)
            #expect(failed == "16")
            kill(procwatch.pid, SIGTERM)
            #expect(procwatch.wait(timeout: .seconds(20)) == 0, "\(procwatch.stderr)")
            let row = try Self.row("forkers", in: procwatch.stdout)
            #expect(row.count == 12, "\(row)")
            #expect(row[2] == "5", "\(row)")      // started: python and the 4 children that fit
            #expect(row[10] == failed, "\(row)")  // REFUSED
        }

        /// The group cgroup's CPU and the taskstats CPU of the same group agree within the tick,
        /// with the bound and tick of ``RunLimitTests/cgroupCPUAgreesWithTaskstatsWithinTheTick()``:
        /// the shell is moved while it waits at a FIFO (its CPU before the move: its start,
        /// well under a tick), and its three CPU-bound children are born inside.
        @Test func cgroupCPUAgreesWithTheGroupsTaskstatsCPUWithinTheTick() throws {
            let shell = try LiveKernelTests.CommandLineTests().privateCopy(of: "/bin/sh", namedLike: "pwsh")
            let gate = FIFOGate()
            defer {
                shell.remove()
                gate.remove()
            }
            let procwatch = try RunningProcwatch(["jobs", "--cgroups", "--interval", "0.2", "--group", "loops=^\(shell.name)$"])
            defer { procwatch.end() }
            _ = try #require(procwatch.waitForSourceLine())
            let loop = "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"
            let looper = try Spawn.start([shell.path, "-c", "read go < \(gate.path); for n in 1 2 3; do /bin/sh -c '\(loop)' & done; wait"])
            defer {
                kill(looper, SIGKILL)
                Spawn.wait(looper)
            }
            #expect(eventually { Self.places(of: looper) == Self.inside(procwatch.pid, "loops") }, "\(procwatch.stderr)")
            gate.release()
            #expect(Spawn.wait(looper, timeout: .seconds(60)) == 0)
            // Every exit (and its record) handled: none live, four started.
            #expect(Self.waitForRow("loops", ["0", "4"], of: procwatch), "\(procwatch.stdout)")
            kill(procwatch.pid, SIGTERM)
            #expect(procwatch.wait(timeout: .seconds(20)) == 0, "\(procwatch.stderr)")
            let row = try Self.row("loops", in: procwatch.stdout)
            #expect(row[2] == "4", "\(row)")
            let taskstats = try #require(Double(row[6].dropLast()), "\(row)")
            let cgroupCPU = try #require(Double(row[7].dropLast()), "\(row)")
            let tick = RunLimitTests.tickSeconds()
            #expect(abs(cgroupCPU - taskstats) <= Double(4 + 1) * tick, "cgroup \(cgroupCPU) s, taskstats \(taskstats) s, tick \(tick) s")
            #expect(taskstats > 0.1)
            print("jobs agreement: cgroup \(cgroupCPU) s, taskstats \(taskstats) s, tick \(tick) s")
        }

        /// A `procwatch-jobs-PID-GROUP` whose procwatch is gone is removed by the next procwatch
        /// that makes cgroups, which says so; the process still in it lives on, in the parent.
        @Test func theNextJobsRemovesAStaleGroupCgroupAndKeepsItsMember() throws {
            let dead = try Spawn.run(["/bin/true"]).pid
            let parent = try #require(Self.original[.pids])
            let stale = parent + "/" + JobCgroup.groupName(owner: dead, group: "old")
            try CgroupFiles.makeDirectory(stale)
            let sleeper = try Spawn.start(["/bin/sleep", "60"])
            defer {
                kill(sleeper, SIGKILL)
                Spawn.wait(sleeper)
                rmdir(stale)
            }
            try CgroupFiles.write(stale + "/cgroup.procs", "\(sleeper)")
            let run = try Spawn.capture([Spawn.procwatchBinary, "jobs", "--cgroups", "--interval", "5", "--group", "none=^pw-no-such$", "-D", "0.5"])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stderr.contains("procwatch: jobs: removed \(stale), left by a procwatch that is gone\n"), "\(run.stderr)")
            #expect(!RunLimitTests.exists(stale))
            #expect(Self.alive(sleeper))
            #expect(Self.places(of: sleeper)[.pids] == parent)
        }
    }
}

/// Cgroup names of `jobs` groups and the flags that need `--cgroups`: no kernel, no root.
@Suite("procwatch jobs cgroup names and flags")
struct JobsCgroupFlagTests {
    @Test func groupCgroupNamesAreSafeDirectoryNamesThatCarryTheOwner() {
        #expect(JobCgroup.groupName(owner: 4242, group: "build") == "procwatch-jobs-4242-build")
        #expect(JobCgroup.groupName(owner: 4242, group: "a/b c.d_é") == "procwatch-jobs-4242-a_b_c.d___")
        #expect(JobCgroup.groupName(owner: 7, group: String(repeating: "x", count: 300)).count == "procwatch-jobs-7-".count + 200)
        #expect(JobCgroup.owner(ofCgroupNamed: "procwatch-jobs-4242-a-b")?.pid == 4242)
        #expect(JobCgroup.owner(ofCgroupNamed: "procwatch-jobs-4242-a-b")?.eviction == .moveToParent)
        #expect(JobCgroup.owner(ofCgroupNamed: "procwatch-run-99")?.pid == 99)
        #expect(JobCgroup.owner(ofCgroupNamed: "procwatch-run-99")?.eviction == .kill)
        #expect(JobCgroup.owner(ofCgroupNamed: "procwatch-jobs-x-a") == nil)
        #expect(JobCgroup.owner(ofCgroupNamed: "user.slice") == nil)
    }

    @Test(arguments: [
        (["--max-processes", "5"], "procwatch: jobs: --max-processes needs --cgroups (the limit is kept by each group's cgroup)\n"),
        (["--max-memory", "64M"], "procwatch: jobs: --max-memory needs --cgroups (the limit is kept by each group's cgroup)\n"),
        (["--cgroups", "--max-processes", "0"], "procwatch: --max-processes takes a number of processes of at least 1, not 0\n"),
        (["--cgroups", "--group", "a_b=^y$"], "procwatch: --cgroups: groups 'a/b' and 'a_b' would share one cgroup name; rename one\n"),
    ])
    func badFlagsAreNamedInOneLine(_ options: [String], _ message: String) throws {
        let run = try Spawn.capture([Spawn.procwatchBinary, "jobs", "--group", "a/b=^x$"] + options + ["-D", "1"])
        #expect(run.status == 64 << 8, "\(run.stderr)")
        #expect(run.stderr == message)
        #expect(run.stdout.isEmpty)
    }
}
