import Testing
@testable import ProcWatch
@testable import ProcWatchCLI

/// Which hierarchy serves each controller, from mountinfo and /proc/self/cgroup texts, and
/// the parsers of the cgroup files: no kernel, no root.
@Suite("cgroup layout and files")
struct CgroupLayoutTests {
    /// This project's machine: v1 controllers plus an empty v2 at /sys/fs/cgroup/unified,
    /// procwatch in a v1 memory cgroup of its own.
    @Test func hybridTakesEveryControllerFromV1() {
        let layout = CgroupLayout(mountInfo: """
            31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
            33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
            35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
            38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
            39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
            41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
            """, membership: """
            8:pids:/
            7:blkio:/
            4:memory:/process_api/02fd
            2:cpuacct:/
            0::/
            """, v2Controllers: "hugetlb\n")
        #expect(layout.places == [
            .pids: .init(version: .v1, directory: "/sys/fs/cgroup/pids"),
            .memory: .init(version: .v1, directory: "/sys/fs/cgroup/memory/process_api/02fd"),
            .cpu: .init(version: .v1, directory: "/sys/fs/cgroup/cpuacct"),
            .io: .init(version: .v1, directory: "/sys/fs/cgroup/blkio"),
        ])
    }

    /// Pure v2: every controller the root lists; CPU (cpu.stat) needs none.
    @Test func pureV2TakesWhatTheRootLists() {
        let layout = CgroupLayout(mountInfo: "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n",
                                  membership: "0::/user.slice/user-1000.slice/session-2.scope\n",
                                  v2Controllers: "cpuset cpu io memory pids\n")
        let directory = "/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope"
        #expect(layout.places == [.pids: .init(version: .v2, directory: directory), .memory: .init(version: .v2, directory: directory),
                                  .cpu: .init(version: .v2, directory: directory), .io: .init(version: .v2, directory: directory)])
    }

    /// systemd's co-mounted `cpu,cpuacct`, a v2 offering `pids` that v1 did not mount, a
    /// container's mount root (the path in /proc/self/cgroup starts with it) and an escaped space.
    @Test func coMountedControllersMountRootsAndEscapes() {
        let layout = CgroupLayout(mountInfo: """
            32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
            35 31 0:32 /docker/abc /sys/fs/cgroup/mem\\040ory rw - cgroup cgroup rw,memory
            41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
            """, membership: "3:cpu,cpuacct:/a\n4:memory:/docker/abc/b\n0::/c\n", v2Controllers: "pids io")
        #expect(layout.places == [
            .cpu: .init(version: .v1, directory: "/sys/fs/cgroup/cpu,cpuacct/a"),
            .memory: .init(version: .v1, directory: "/sys/fs/cgroup/mem ory/b"),
            .pids: .init(version: .v2, directory: "/sys/fs/cgroup/unified/c"),
            .io: .init(version: .v2, directory: "/sys/fs/cgroup/unified/c"),
        ])
    }

    @Test func keyedValuesAndDeviceSums() {
        #expect(CgroupUsage.value(of: "max", in: "max 13\n") == 13)
        #expect(CgroupUsage.value(of: "oom_kill", in: "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n") == 2)
        #expect(CgroupUsage.value(of: "max", in: nil) == nil)
        #expect(CgroupUsage.number("158948081\n") == 158_948_081)
        let blkio = CgroupUsage.blkioBytes("8:0 Read 4096\n8:0 Write 512\n8:16 Read 100\n8:16 Write 0\nTotal 4708\n")
        #expect(blkio?.read == 4196 && blkio?.write == 512)
        let io = CgroupUsage.ioStatBytes("8:0 rbytes=4096 wbytes=512 rios=1 wios=1 dbytes=0 dios=0\n8:16 rbytes=100 wbytes=7 rios=1 wios=1\n")
        #expect(io?.read == 4196 && io?.write == 519)
    }

    @Test(arguments: [("512M", UInt64(512) << 20), ("1G", 1 << 30), ("1048576", 1_048_576), ("64MiB", 64 << 20), ("8k", 8192), ("2GB", 2 << 30)])
    func sizesParse(_ text: String, _ bytes: UInt64) {
        #expect(ByteSize.parse(text) == bytes)
    }

    @Test(arguments: ["", "M", "0", "12Q", "1.5G", "-1M", "99999999999T", "1 G"])
    func junkIsNoSize(_ text: String) {
        #expect(ByteSize.parse(text) == nil)
    }

    @Test func sizesDescribe() {
        #expect(ByteSize.describe(32 << 20) == "32 MiB")
        #expect(ByteSize.describe(1 << 30) == "1 GiB")
        #expect(ByteSize.describe(3072) == "3 KiB")
        #expect(ByteSize.describe(1536) == "1536 B")
    }
}
