import Testing
@testable import ProcWatch

/// Which path of `/proc/PID/cgroup` stands for the process (docs/events.md, `cgroup`).
@Suite struct CgroupMembershipTests {
    @Test func hybridHostWithEverythingAtTheRoots() {
        #expect(CgroupMembership.attributedPath(procCgroup: "9:name=systemd:/\n4:memory:/\n0::/\n") == "/")
    }

    @Test func theUnifiedPathWinsWhenNotTheRoot() {
        let text = "9:name=systemd:/machine.slice/x.scope\n4:memory:/process_api/a\n0::/system.slice/docker-a.scope\n"
        #expect(CgroupMembership.attributedPath(procCgroup: text) == "/system.slice/docker-a.scope")
    }

    @Test func thenNameSystemd() {
        let text = "9:name=systemd:/machine.slice/x.scope\n4:memory:/process_api/a\n0::/\n"
        #expect(CgroupMembership.attributedPath(procCgroup: text) == "/machine.slice/x.scope")
    }

    @Test func thenTheFirstOtherV1Path() {
        let text = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/a\n2:cpu,cpuacct:/b\n0::/\n"
        #expect(CgroupMembership.attributedPath(procCgroup: text) == "/process_api/a")
    }

    @Test func aPathWithColonsIsKeptWhole() {
        #expect(CgroupMembership.attributedPath(procCgroup: "0::/a:b/c\n") == "/a:b/c")
    }

    @Test func nothingReadableIsNil() {
        #expect(CgroupMembership.attributedPath(procCgroup: "") == nil)
        #expect(CgroupMembership.attributedPath(procCgroup: "garbage\n") == nil)
    }
}
