import Glibc
import Testing
@testable import ProcWatch

/// Which mount each hierarchy of `/proc/self/cgroup` is resolved under, and when the
/// kernel side's choice among v1 hierarchies is not followed.
@Suite struct CgroupHierarchiesTests {
    /// This project's hybrid host: v1 controllers, `name=systemd`, an empty v2 at `unified`.
    static let hybridMountInfo = """
        31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
        32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
        33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
        35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
        40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
        """
    static let hybridCgroup = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/a\n2:cpuacct:/\n1:cpu:/\n0::/\n"

    @Test func everyHierarchyHasItsRootMount() {
        let hierarchies = CgroupHierarchies(procCgroup: Self.hybridCgroup, mountInfo: Self.hybridMountInfo)
        #expect(hierarchies.mountPoints == [
            0: "/sys/fs/cgroup/unified", 1: "/sys/fs/cgroup/cpu", 2: "/sys/fs/cgroup/cpuacct", 4: "/sys/fs/cgroup/memory",
            8: "/sys/fs/cgroup/pids", 9: "/sys/fs/cgroup/systemd",
        ])
        #expect(hierarchies.followsProcOrder)
        #expect(hierarchies.path(of: .roots) == "/")
    }

    @Test func aJoinedHierarchyAndAPureV2Host() {
        let joined = CgroupHierarchies(
            procCgroup: "3:cpu,cpuacct:/a\n0::/\n",
            mountInfo: "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n")
        #expect(joined.mountPoints == [3: "/sys/fs/cgroup/cpu,cpuacct"])
        let v2 = CgroupHierarchies(procCgroup: "0::/user.slice\n",
                                   mountInfo: "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n")
        #expect(v2.mountPoints == [0: "/sys/fs/cgroup"])
        #expect(v2.followsProcOrder)
    }

    /// A mount of a subdirectory (a container's view) names paths relative to it: not used.
    @Test func aMountOfASubdirectoryIsNotUsed() {
        let hierarchies = CgroupHierarchies(
            procCgroup: "4:memory:/a\n0::/\n",
            mountInfo: "35 31 0:32 /a /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
                + "41 31 0:38 /a /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n")
        #expect(hierarchies.mountPoints.isEmpty)
        #expect(hierarchies.path(of: .cgroup(hierarchy: 4, id: 1)) == nil)
    }

    /// The kernel side takes the non-root v1 cgroup of the highest hierarchy id, which is
    /// /proc's first only where /proc lists hierarchies newest first: elsewhere it is not
    /// believed (the caller reads /proc), v2 ids still are.
    @Test func anotherOrderIsNotFollowed() {
        let hierarchies = CgroupHierarchies(procCgroup: "1:cpu:/\n4:memory:/a\n0::/\n", mountInfo: Self.hybridMountInfo)
        #expect(!hierarchies.followsProcOrder)
        #expect(hierarchies.path(of: .cgroup(hierarchy: 4, id: 1)) == nil)
    }

    /// An id is the inode number of its directory under the hierarchy's mount (any file
    /// system will do for the walk: a temporary tree stands for the memory hierarchy here).
    @Test func anIDResolvesToItsDirectoryUnderItsHierarchy() throws {
        var template = Array("/tmp/procwatch-hierarchies-XXXXXX".utf8CString)
        let root = try #require(template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }.map { String(cString: $0) })
        defer {
            rmdir(root + "/docker/abc")
            rmdir(root + "/docker")
            rmdir(root)
        }
        #expect(mkdir(root + "/docker", 0o755) == 0)
        #expect(mkdir(root + "/docker/abc", 0o755) == 0)
        var info = stat()
        #expect(stat(root + "/docker/abc", &info) == 0)
        let hierarchies = CgroupHierarchies(
            procCgroup: "4:memory:/\n0::/\n", mountInfo: "35 31 0:32 / \(root) rw - cgroup cgroup rw,memory\n")
        #expect(hierarchies.path(of: .cgroup(hierarchy: 4, id: UInt64(info.st_ino))) == "/docker/abc")
        #expect(hierarchies.path(of: .cgroup(hierarchy: 9, id: UInt64(info.st_ino))) == nil)
    }
}
