import Foundation
import Glibc
import Testing
@testable import ProcWatch

extension LiveKernelTests.CommandLineTests {
    /// A container's cgroup as its runtime shapes it, with the attribution it must give.
    struct ContainerShape: CustomStringConvertible {
        var path: String
        var expected: ContainerAttribution?
        var description: String { path }

        /// Every shape of the issue, with fresh ids (no clash with another run's cgroups).
        static func all() -> [ContainerShape] {
            let hex = { (0..<64).map { _ in String("0123456789abcdef".randomElement()!) }.joined() }
            let (docker, cgroupfsDocker, cri, podman, kubelet, cgroupfsKubelet) = (hex(), hex(), hex(), hex(), hex(), hex())
            let pod = UUID().uuidString.lowercased()
            let machine = "pwtest\(UInt16.random(in: 1000...UInt16.max))"
            let slice = pod.replacingOccurrences(of: "-", with: "_")
            return [
                ContainerShape(path: "/system.slice/docker-\(docker).scope", expected: .init(id: docker, runtime: .docker)),
                ContainerShape(path: "/docker/\(cgroupfsDocker)", expected: .init(id: cgroupfsDocker, runtime: .docker)),
                ContainerShape(path: "/system.slice/containerd.service", expected: nil),
                ContainerShape(path: "/system.slice/cri-containerd-\(cri).scope", expected: .init(id: cri, runtime: .containerd)),
                ContainerShape(path: "/machine.slice/libpod-\(podman).scope", expected: .init(id: podman, runtime: .podman)),
                ContainerShape(path: "/machine.slice/systemd-nspawn@\(machine).service", expected: .init(id: machine, runtime: .systemdNspawn)),
                ContainerShape(path: "/machine.slice/machine-\(machine)x.scope", expected: .init(id: machine + "x", runtime: .systemdNspawn)),
                ContainerShape(path: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(slice).slice/cri-containerd-\(kubelet).scope",
                               expected: .init(id: kubelet, runtime: .containerd, podUID: pod, podQoS: .burstable)),
                ContainerShape(path: "/kubepods/besteffort/pod\(pod)/\(cgroupfsKubelet)",
                               expected: .init(id: cgroupfsKubelet, runtime: nil, podUID: pod, podQoS: .besteffort)),
            ]
        }
    }

    /// Every event of a workload run in a container-shaped cgroup carries that cgroup and
    /// its container, with both sources, under the v2 mount and under v1 `name=systemd`.
    /// The shell moves itself in, then execs the workload — as a runtime moves a container's
    /// first process before its exec — whose processes live under a millisecond: they are
    /// attributed by inheritance at their fork, /proc read in time or not.
    @Test(.enabled(if: getuid() == 0, "needs root"), arguments: ["connector", "bpf"])
    func containerAttributionOnEveryEvent(source: String) throws {
        if source == "bpf", !kernelWatchersAvailable { return }
        let cgroups = TestCgroups()
        defer { #expect(cgroups.removeAll() == []) }
        let shapes = ContainerShape.all()
        var placements: [(shape: ContainerShape, hierarchy: TestCgroups.Hierarchy, directory: String)] = []
        for shape in shapes {
            for hierarchy in TestCgroups.Hierarchy.allCases {
                placements.append((shape, hierarchy, try cgroups.make(shape.path, in: hierarchy)))
            }
        }
        let procwatch = try RunningProcwatch(["--source", source, "--json", "-e", "fork,exec,exit"])
        defer { procwatch.end() }
        try #require(procwatch.waitForSourceLine()?.hasPrefix("procwatch: source: \(source)") == true, "\(procwatch.stderr)")
        usleep(200_000)  // the process table is seeded before the first event is read
        var shells: [Int32] = []
        for placement in placements {
            let script = "echo $$ > \(placement.directory)/cgroup.procs && exec /bin/sh -c '/bin/true; /bin/true; /bin/false; /bin/sh -c \"exit 0\"; sleep 0.1'"
            let shell = try Spawn.start(["/bin/sh", "-c", script])
            Spawn.wait(shell)
            shells.append(shell)
        }
        let last = shells.last!
        #expect(eventually { (try? jsonLines(procwatch.stdout))?.contains { $0["event"] as? String == "exit" && $0["pid"] as? Int == Int(last) } == true })
        procwatch.end()
        let events = try jsonLines(procwatch.stdout)
        for (placement, shell) in zip(placements, shells) {
            let shellEvents = events.filter { $0["pid"] as? Int == Int(shell) }
            // From the exec after the move: the outer shell's fork and first exec were before it.
            let execs = shellEvents.indices.filter { shellEvents[$0]["event"] as? String == "exec" }
            try #require(execs.count >= 2, "\(placement.shape) in \(placement.hierarchy): \(shellEvents)")
            let children = Set(events.filter { $0["event"] as? String == "fork" && $0["ppid"] as? Int == Int(shell) }.compactMap { $0["pid"] as? Int })
            #expect(children.count >= 4, "\(placement.shape) in \(placement.hierarchy)")
            var workload = Array(shellEvents[execs[1]...])
            for child in children {
                let own = events.filter { $0["pid"] as? Int == child }
                #expect(own.map { $0["event"] as? String } == ["fork", "exec", "exit"], "\(own)")
                workload += own
            }
            for event in workload {
                let expected = placement.shape.expected
                let where_ = "\(placement.shape) in \(placement.hierarchy), \(source): \(event)"
                #expect(event["cgroup"] as? String == placement.shape.path, "\(where_)")
                #expect(event["container_id"] as? String == expected?.id, "\(where_)")
                #expect(event["container_runtime"] as? String == expected?.runtime?.rawValue, "\(where_)")
                #expect(event["pod_uid"] as? String == expected?.podUID, "\(where_)")
                #expect(event["pod_qos"] as? String == expected?.podQoS?.rawValue, "\(where_)")
            }
        }
    }
}

extension LiveKernelTests.CommandLineTests {
    /// `--container` (an id prefix) and `--cgroup` (a regex on the path) keep exactly the
    /// workload run in a Docker-shaped cgroup, and `--container-column` shows the id's first
    /// 12 characters on each of its lines.
    @Test(.enabled(if: getuid() == 0, "needs root"), arguments: [["--container", "PREFIX"], ["--cgroup", "^/system.slice/docker-PREFIX"]])
    func containerFiltersAndColumn(filter: [String]) throws {
        let id = (0..<64).map { _ in String("0123456789abcdef".randomElement()!) }.joined()
        let cgroups = TestCgroups()
        defer { #expect(cgroups.removeAll() == []) }
        let directory = try cgroups.make("/system.slice/docker-\(id).scope", in: .unified)
        let arguments = filter.map { $0.replacingOccurrences(of: "PREFIX", with: String(id.prefix(8))) }
        var shell: Int32 = 0
        let run = try watch(["--source", "connector", "--color", "never", "--container-column", "-e", "exec,exit"] + arguments) {
            _ = try Spawn.run(["/bin/sh", "-c", "/bin/true"])  // on the host: left out
            shell = try Spawn.run(["/bin/sh", "-c", "echo $$ > \(directory)/cgroup.procs && exec /bin/sh -c '/bin/true; sleep 0.1'"]).pid
        }
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("TIME            EVENT        PID    PPID CONTAINER    INFO") == true, "\(run.stdout)")
        let body = Array(lines.dropFirst())
        // The shell's second exec and exit, /bin/true's exec and exit, sleep's exec and exit
        // (the last two under the shell's pid when dash execs its last command).
        #expect(body.count >= 4 && body.count <= 6, "\(run.stdout)")
        for line in body {
            let columns = line.split(separator: " ", omittingEmptySubsequences: true)
            #expect(columns.count > 4 && columns[4] == id.prefix(12), "\(line)")
        }
        #expect(body.contains { $0.split(separator: " ", omittingEmptySubsequences: true)[2] == "\(shell)" })
    }
}
