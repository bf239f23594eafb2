import Glibc
import Testing
@testable import ProcWatch

extension LiveKernelTests.CommandLineTests {
    /// Per-kind fallback: with the comm program refused (test switch), the one line says comm
    /// comes from the connector, procwatch has attached every program but that one, and a task's
    /// rename still arrives — from the connector — in the one stream, between the BPF exec
    /// and the BPF exit. (In the serialized live suite: it subscribes the connector.)
    @Test(.enabled(if: kernelWatchersAvailable, "needs root and libbpf.so.1"))
    func commComesFromTheConnectorWhenItsProgramIsRefused() throws {
        let procwatch = try RunningProcwatch(["--source", "bpf", "--json", "-e", "all", "-D", "3"],
                                             environment: ["PROCWATCH_TEST_BPF_REFUSED_KINDS=comm"])
        #expect(procwatch.waitForSourceLine() == "procwatch: source: bpf (asked for; attaching procwatch_comm was refused "
            + "(test switch)); not from BPF: comm (from the connector)")
        let programs = try BPFPrograms.names(attachedBy: procwatch.pid)
        #expect(programs == KernelWatchers.programs.map(\.name).filter { $0 != "procwatch_comm" }.sorted())
        let child = try Spawn.run(["/bin/sh", "-c", "printf renamed > /proc/self/comm; exit 4"]).pid
        let status = procwatch.wait()
        #expect(status == 0, "\(procwatch.stderr)")
        let events = try jsonLines(procwatch.stdout).filter { $0["pid"] as? Int == Int(child) }
        try #require(events.map { $0["event"] as? String } == ["fork", "exec", "comm", "exit"], "\(events)")
        // exec and exit from BPF: the kernel's own fields.
        #expect(events[1]["cmdline"] as? [String] == ["/bin/sh", "-c", "printf renamed > /proc/self/comm; exit 4"])
        #expect(events[1]["cgroup_id"] != nil)
        #expect(events[2]["comm"] as? String == "renamed")
        #expect(events[2]["tid"] as? Int == Int(child))
        #expect(events[3]["exit_code"] as? Int == 4 << 8)
        #expect(events[3]["cpu_user_us"] != nil)
        #expect(events[3]["comm"] as? String == "renamed")
        // One stream, in kernel time order.
        let times = events.compactMap { $0["ktime_ns"] as? Int }
        #expect(times == times.sorted() && times.count == 4)
    }
}
