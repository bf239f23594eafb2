import Foundation
import Glibc
import Testing
@testable import ProcWatch
@testable import ProcWatchCLI

/// `procwatch run --max-processes/--max-memory` against the real kernel: the limits hold,
/// the report counts what the kernel refused and killed, and the cgroup is gone afterwards
/// on every way out.
@Suite("procwatch run with cgroup limits", .serialized, .enabled(if: getuid() == 0))
struct RunLimitTests {
    /// The job cgroup directories a procwatch of pid `pid` makes (under the test's own
    /// cgroups, which procwatch inherits).
    static func directories(of pid: Int32) -> [String] {
        Set(CgroupLayout.current().places.values.map { $0.directory + "/" + JobCgroup.namePrefix + "\(pid)" }).sorted()
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// Forks 200 children that sleep 2 s under a limit of 50 tasks, counting the forks that
    /// fail itself; exits 3.
    static let forkBomb = """
        import os, sys, time
        failed = 0
        for _ in range(200):
            try:
                if os.fork() == 0:
                    time.sleep(2)
                    os._exit(0)
            except BlockingIOError:
                failed += 1
        while True:
            try:
                os.wait()
            except ChildProcessError:
                break
        print("failed", failed, flush=True)
        sys.exit(3)
        """

    @Test func forkBombIsContainedAndItsRefusedForksCounted() throws {
        let run = try Spawn.capture([Spawn.procwatchBinary, "run", "--json", "-o", "/dev/stderr", "--max-processes", "50", "--",
                                     "/usr/bin/python3", "-c", Self.forkBomb])
        // The script's own count of EAGAIN, and the kernel's in the report.
        let failed = try #require(run.stdout.split(separator: "\n").first { $0.hasPrefix("failed ") }.flatMap { Int($0.dropFirst(7)) })
        #expect(failed > 0)
        let reportLine = try #require(run.stderr.split(separator: "\n").first { $0.hasPrefix("{") })
        let report = try Self.json(String(reportLine))
        #expect(report["refused_forks"] as? Int == failed, "\(run.stderr)")
        let cgroup = try #require(report["cgroup"] as? [String: Any])
        #expect(cgroup["max_processes"] as? Int == 50)
        // Never more than 50 at once: python and at most 49 children ran.
        #expect(report["processes"] as? Int == 200 - failed + 1)
        #expect(run.status == 3 << 8)
        for directory in Self.directories(of: run.pid) { #expect(!Self.exists(directory), "\(directory) is left") }
    }

    @Test func memoryLimitKillsARunawayAllocatorAndTheReportSaysSo() throws {
        let run = try Spawn.capture([Spawn.procwatchBinary, "run", "-o", "/dev/stderr", "--max-memory", "32M", "--",
                                     "/usr/bin/python3", "-c", "b = bytearray()\nwhile True: b += bytearray(1 << 20)"])
        #expect(run.status == 137 << 8, "\(run.stderr)")
        let lines = run.stderr.split(separator: "\n").map(String.init)
        #expect(lines.contains("  status     killed by SIGKILL"), "\(run.stderr)")
        #expect(lines.contains("  limits     32 MiB of memory"))
        #expect(lines.contains("  oom        memory limit 32 MiB reached: the kernel killed 1 process (OOM)"), "\(run.stderr)")
        // Peak memory: the cgroup's, page cache included, reached the limit and no more.
        let peak = try #require(lines.first { $0.hasPrefix("  cgroup mem ") })
        #expect(peak == "  cgroup mem \(32 * 1024) KiB peak (page cache included)")
        for directory in Self.directories(of: run.pid) { #expect(!Self.exists(directory), "\(directory) is left") }
    }

    /// SIGTERM to procwatch mid-run ends the whole tree, removes the cgroup, exits 143.
    @Test func sigtermEndsTheTreeAndRemovesTheCgroup() throws {
        let procwatch = try RunningProcwatch(["run", "--max-processes", "20", "--", "/bin/sh", "-c", "sleep 60 & sleep 60"])
        defer { procwatch.end() }
        let pidsDirectory = try #require(CgroupLayout.current().places[.pids]).directory + "/" + JobCgroup.namePrefix + "\(procwatch.pid)"
        // sh and its two sleeps are in the cgroup.
        #expect(eventually { CgroupFiles.processes(in: pidsDirectory).count == 3 })
        let members = CgroupFiles.processes(in: pidsDirectory)
        kill(procwatch.pid, SIGTERM)
        let status = try #require(procwatch.wait(timeout: .seconds(20)))
        #expect(status == 143 << 8, "\(procwatch.stderr)")
        #expect(procwatch.stderr.contains("procwatch: run: SIGTERM: the command's whole tree was killed\n"))
        for directory in Self.directories(of: procwatch.pid) { #expect(!Self.exists(directory), "\(directory) is left") }
        // The orphaned sleep is reaped by init: gone (its pid is not reused so soon).
        for pid in members { #expect(eventually(timeout: .seconds(5)) { kill(pid, 0) == -1 && errno == ESRCH }, "\(pid) still runs") }
    }

    /// A cgroup left by a SIGKILLed procwatch (its pid dead), with a process still in it, is
    /// removed by the next run, which says so.
    @Test func theNextRunRemovesAStaleCgroup() throws {
        let dead = try Spawn.run(["/bin/true"]).pid
        let stale = try #require(CgroupLayout.current().places[.pids]).directory + "/" + JobCgroup.namePrefix + "\(dead)"
        try CgroupFiles.makeDirectory(stale)
        let sleeper = try Spawn.start(["/bin/sleep", "60"])
        defer {
            kill(sleeper, SIGKILL)
            Spawn.wait(sleeper)
            rmdir(stale)
        }
        try CgroupFiles.write(stale + "/cgroup.procs", "\(sleeper)")
        let run = try Spawn.capture([Spawn.procwatchBinary, "run", "-o", "/dev/null", "--max-processes", "5", "--", "/bin/true"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("procwatch: run: removed \(stale), left by a procwatch that is gone\n"), "\(run.stderr)")
        #expect(!Self.exists(stale))
        #expect(Spawn.wait(sleeper, timeout: .seconds(5)) == SIGKILL)
    }

    /// The cgroup's CPU and the taskstats sum of the same tree agree within the tick.
    ///
    /// Both count CPU by scheduler tick: each tick charges the running task's utime or stime
    /// (which taskstats reports at its exit) and its cgroup's cpuacct user or system together.
    /// They differ by the CPU a task used before it entered the cgroup (the held child before
    /// its move: well under a tick), by taskstats rounding each task to the microsecond and the
    /// report to the millisecond, and by a tick charged to a task's exit path after its
    /// record is sent — at most one tick per process. Bound: (processes + 1) ticks, the tick
    /// being 1/CONFIG_HZ (read from /proc/config.gz; 10 ms, the longest, when unknown).
    @Test func cgroupCPUAgreesWithTaskstatsWithinTheTick() throws {
        let loop = "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"
        let run = try Spawn.capture([Spawn.procwatchBinary, "run", "--json", "--max-processes", "100", "--", "/bin/sh", "-c",
                                     "for n in 1 2 3; do sh -c '\(loop)' & done; wait"])
        #expect(run.status == 0, "\(run.stderr)")
        let report = try Self.json(run.stdout)
        let cgroup = try #require(report["cgroup"] as? [String: Any])
        let taskstats = try #require(report["cpu_user_s"] as? Double) + (try #require(report["cpu_system_s"] as? Double))
        let cgroupCPU = try #require(cgroup["cpu_user_s"] as? Double) + (try #require(cgroup["cpu_system_s"] as? Double))
        let processes = try #require(report["processes"] as? Int)
        #expect(processes == 4)
        let tick = Self.tickSeconds()
        #expect(abs(cgroupCPU - taskstats) <= Double(processes + 1) * tick, "cgroup \(cgroupCPU) s, taskstats \(taskstats) s, tick \(tick) s")
        #expect(taskstats > 0.1)
        print("agreement: cgroup \(cgroupCPU) s, taskstats \(taskstats) s, scheduler \(cgroup["cpu_total_s"] ?? "-") s, tick \(tick) s")
    }

    /// Peak memory: the cgroup's and taskstats' agree for a process whose memory is its own
    /// anonymous buffer.
    ///
    /// `dd bs=64M count=1 iflag=fullblock` reads /dev/zero into one 64 MiB buffer, so every
    /// page of it is written — faulted in, by dd, inside the cgroup — and held until dd exits:
    /// its peak RSS (taskstats `hiwater_rss`) and the cgroup's peak (v1
    /// `memory.max_usage_in_bytes`, v2 `memory.peak`) both include those 64 MiB at once. The
    /// rest differs by what each counts:
    /// - RSS counts dd's resident file pages (its binary, libc, the loader, `ld.so.cache`
    ///   while the loader maps it), which are in the page cache already, charged to the
    ///   cgroup that first read them, not to this one: at most those files' sizes.
    ///   (`LC_ALL=C`: no locale archive is mapped.)
    /// - The cgroup counts the kernel memory it was charged, which RSS does not: page tables
    ///   (a 4 KiB page per 2 MiB mapped, 32 for the buffer, a few more for the rest and the
    ///   upper levels), the 16 KiB kernel stack, task, mm, VMA and file objects; and the
    ///   pages the held child (a fork of procwatch) copied on write between its move into
    ///   the cgroup and its exec. 200 KiB of kernel memory measured here
    ///   (`memory.kmem.max_usage_in_bytes`); bound: 1 MiB.
    /// - The memory controller charges its counter in batches of MEMCG_CHARGE_BATCH (64
    ///   pages) kept in a per-CPU stock, so the counter runs up to 64 pages per CPU ahead of
    ///   the pages in use.
    /// So |cgroup − RSS| ≤ files + 1 MiB + 256 KiB × CPUs, and each is at least 64 MiB.
    @Test func cgroupPeakMemoryAgreesWithTaskstatsPeakRSS() throws {
        let megabytes = 64
        let run = try Spawn.capture([Spawn.procwatchBinary, "run", "--json", "--max-processes", "10", "--", "/usr/bin/env", "LC_ALL=C",
                                     "/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=\(megabytes)M", "count=1", "iflag=fullblock"])
        #expect(run.status == 0, "\(run.stderr)")
        let report = try Self.json(run.stdout)
        #expect(report["processes"] as? Int == 1)
        let rss = try #require(report["peak_rss_kb"] as? Int) * 1024
        let cgroup = try #require((report["cgroup"] as? [String: Any])?["peak_memory_bytes"] as? Int)
        let files = ["/bin/dd", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2", "/etc/ld.so.cache"].reduce(0) { sum, path in
            var status = stat()
            return sum + (stat(path, &status) == 0 ? Int(status.st_size) : 0)
        }
        let tolerance = files + (1 << 20) + 64 * 4096 * Int(sysconf(Int32(_SC_NPROCESSORS_CONF)))
        #expect(rss >= megabytes << 20, "taskstats peak RSS \(rss) B")
        #expect(cgroup >= megabytes << 20, "cgroup peak \(cgroup) B")
        #expect(abs(cgroup - rss) <= tolerance, "cgroup \(cgroup) B, taskstats RSS \(rss) B, tolerance \(tolerance) B")
        // Side by side in the text report too.
        let text = try Spawn.capture([Spawn.procwatchBinary, "run", "--max-processes", "10", "--", "/usr/bin/env", "LC_ALL=C",
                                      "/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=\(megabytes)M", "count=1", "iflag=fullblock"])
        let lines = text.stdout.split(separator: "\n").map(String.init)
        let peak = try #require(lines.firstIndex { $0.hasPrefix("  peak rss   ") }, "\(text.stdout)")
        #expect(lines[peak + 1].hasPrefix("  cgroup mem "), "\(text.stdout)")
        print("peak memory: cgroup \(cgroup) B, taskstats peak RSS \(rss) B, difference \(cgroup - rss) B, tolerance \(tolerance) B")
    }

    /// Block I/O: the cgroup's and taskstats' agree exactly, on a block device v1 blkio counts.
    ///
    /// Both count a bio when it is submitted, for the task that submits it: taskstats
    /// `read_bytes` in `submit_bio` (`task_io_account_read`), `write_bytes` in the block
    /// device's direct-I/O path (`task_io_account_write`); v1 blkio in `blk_should_throtl`,
    /// for the bio's cgroup, the submitter's. With O_DIRECT on the device itself there is no
    /// page cache in between (whose writeback a flusher thread would submit, outside the
    /// cgroup) and no file system metadata: each figure is exactly the 8 MiB written, then the
    /// 8 MiB read. The programs' own pages come from the page cache (they were just run), so
    /// the tree reads nothing else.
    @Test(.enabled(if: JobCgroup.v1HierarchyRoot(of: "/sys/fs/cgroup/blkio", controller: .io) != nil,
                   "no v1 blkio hierarchy: the loop device's counting is set up through it"))
    func cgroupIOAgreesWithTaskstatsOnABlockDevice() throws {
        let blkioRoot = try #require(JobCgroup.v1HierarchyRoot(of: "/sys/fs/cgroup/blkio", controller: .io))
        _ = try Spawn.run(["/bin/sh", "-c", "/bin/dd --version >/dev/null"])  // the programs into the page cache
        let megabytes = 8
        try TestLoopDevice.with(megabytes: 16, blkioRoot: blkioRoot) { loop in
            let script = "/bin/dd if=/dev/zero of=\(loop.path) bs=1M count=\(megabytes) oflag=direct status=none && "
                + "/bin/dd if=\(loop.path) of=/dev/null bs=1M count=\(megabytes) iflag=direct status=none"
            let run = try Spawn.capture([Spawn.procwatchBinary, "run", "--json", "--max-processes", "10", "--", "/bin/sh", "-c", script])
            #expect(run.status == 0, "\(run.stderr)")
            let report = try Self.json(run.stdout)
            let cgroup = try #require(report["cgroup"] as? [String: Any])
            let devices = try #require(cgroup["io_devices"] as? [String])
            #expect(devices.contains(loop.device), "\(devices)")
            let bytes = megabytes << 20
            #expect(report["write_bytes"] as? Int == bytes, "taskstats: \(run.stdout)")
            #expect(report["read_bytes"] as? Int == bytes, "taskstats: \(run.stdout)")
            #expect(cgroup["write_bytes"] as? Int == bytes, "cgroup: \(cgroup)")
            #expect(cgroup["read_bytes"] as? Int == bytes, "cgroup: \(cgroup)")
            print("block I/O on \(loop.device): cgroup read \(cgroup["read_bytes"] ?? "-") B, written \(cgroup["write_bytes"] ?? "-") B; "
                  + "taskstats read \(report["read_bytes"] ?? "-") B, written \(report["write_bytes"] ?? "-") B")
        }
    }

    /// Where v1 blkio counts no device (no throttle rule anywhere: the host's disks here), the
    /// report says the cgroup's I/O was not counted rather than show zeros.
    @Test(.enabled(if: (try? String(contentsOfFile: "/sys/fs/cgroup/blkio/blkio.throttle.io_service_bytes", encoding: .utf8)) == "Total 0\n",
                   "some device has a throttle rule: v1 blkio counts it"))
    func uncountedIOIsSaidSo() throws {
        let run = try Spawn.capture([Spawn.procwatchBinary, "run", "--max-processes", "10", "--", "/bin/true"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.split(separator: "\n").contains(
            "  cgroup io  not counted (cgroup v1 blkio counts a device's I/O only once a throttle rule was set on it; no device has one)"),
            "\(run.stdout)")
        let json = try Self.json(try Spawn.capture([Spawn.procwatchBinary, "run", "--json", "--max-processes", "10", "--", "/bin/true"]).stdout)
        let cgroup = try #require(json["cgroup"] as? [String: Any])
        #expect(cgroup["io_devices"] as? [String] == [])
        #expect(cgroup["read_bytes"] is NSNull && cgroup["write_bytes"] is NSNull, "\(cgroup)")
    }

    static func tickSeconds() -> Double {
        guard let run = try? Spawn.capture(["/bin/sh", "-c", "zcat /proc/config.gz | grep '^CONFIG_HZ='"]),
              let hz = Double(run.stdout.split(separator: "=").last?.split(separator: "\n").first ?? "") else { return 0.01 }
        return 1 / hz
    }
}

/// Bad limits are named in one line, exit 64.
@Suite("procwatch run limit errors")
struct RunLimitErrorTests {
    @Test(arguments: [
        (["--max-memory", "12Q"], "procwatch: --max-memory takes a size such as 512M, 1G or 1048576, not '12Q'\n"),
        (["--max-memory", "0"], "procwatch: --max-memory takes a size such as 512M, 1G or 1048576, not '0'\n"),
        (["--max-processes", "0"], "procwatch: --max-processes takes a number of processes of at least 1, not 0\n"),
    ])
    func badLimitsAreNamed(_ options: [String], _ message: String) throws {
        let run = try Spawn.capture([Spawn.procwatchBinary, "run"] + options + ["--", "/bin/true"])
        #expect(run.status == 64 << 8, "\(run.stderr)")
        #expect(run.stderr == message)
        #expect(run.stdout.isEmpty)
    }
}
