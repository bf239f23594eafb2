import Foundation
import Glibc
import Testing
@testable import ProcWatch
@testable import ProcWatchStore

extension LiveKernelTests.RecordCommandTests {
    /// `procwatch record` of a command that moves itself into a Kubernetes pod's container
    /// cgroup (as the kubelet's systemd driver with containerd names it, made by the test under
    /// the v2 mount) and execs its workload there, as a runtime starts a container's first
    /// process: its rows carry the container, the pod's UID and its QoS class, and the
    /// report's by-container section shows the pod.
    @Test(.enabled(if: getuid() == 0, "needs root"))
    func aPodsProcessesCarryThePodInTheStoreAndTheReport() throws {
        let id = (0..<64).map { _ in String("0123456789abcdef".randomElement()!) }.joined()
        let pod = UUID().uuidString.lowercased()
        let cgroups = TestCgroups()
        defer { #expect(cgroups.removeAll() == []) }
        let directory = try cgroups.make("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"
            + pod.replacingOccurrences(of: "-", with: "_") + ".slice/cri-containerd-\(id).scope", in: .unified)
        let path = StoreWorkload.temporaryPath("pod-live.db")
        defer { StoreWorkload.remove(path) }
        let workload = "/bin/true; /bin/false; exit 0"
        let run = try Spawn.capture([Spawn.procwatchBinary, "record", "-o", path, "--", "/bin/sh", "-c",
                                     "echo $$ > \(directory)/cgroup.procs && exec /bin/sh -c '\(workload)'"])
        #expect(run.status == 0, "\(run.stderr)")
        // The shell's row as of its exec in the container; its two children forked there.
        #expect(try rows(path, "SELECT comm, failed, container_id, container_runtime, pod_uid, pod_qos FROM processes ORDER BY id") == [
            "sh|0|\(id)|containerd|\(pod)|besteffort",
            "true|0|\(id)|containerd|\(pod)|besteffort",
            "false|1|\(id)|containerd|\(pod)|besteffort",
        ])
        let report = try Spawn.capture([Spawn.procwatchBinary, "report", path])
        #expect(report.status == 0, "\(report.stderr)")
        let lines = report.stdout.split(separator: "\n").map(String.init)
        let section = try #require(lines.firstIndex(of: "by container:"), "\(report.stdout)")
        #expect(lines[section + 1] == "  CONTAINER     RUNTIME          PROCESSES  FAILED         CPU  POD")
        #expect(lines[section + 2].hasPrefix("  \(id.prefix(12))  containerd               3       1 "), "\(lines[section + 2])")
        #expect(lines[section + 2].hasSuffix("s  \(pod) besteffort"), "\(lines[section + 2])")
        #expect(lines[section + 3] == "failed exits:")
    }
}
