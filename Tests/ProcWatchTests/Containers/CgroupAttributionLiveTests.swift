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
        let scripts = placements.map { placement in
            "echo $$ > \(placement.directory)/cgroup.procs && exec /bin/sh -c '/bin/true; /bin/true; /bin/false; /bin/sh -c \"exit 0\"; sleep 0.1'"
        }
        let (events, shells) = try watchShells(source: source, scripts)
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

extension LiveKernelTests.CommandLineTests {
    /// A cgroup A and a cgroup B of one hierarchy, and the attribution a process in each gets.
    struct MoveTargets: CustomStringConvertible {
        var hierarchy: String
        var directories: (a: String, b: String)
        var expected: (a: String, b: String)
        var description: String { hierarchy }
    }

    /// A and B in the v2 hierarchy, in v1 `name=systemd`, and in the v1 `memory` controller's
    /// (under the test's own memory cgroup: the test stays within its limits), each with the
    /// path it stands for by ``CgroupMembership``'s rule, all else as this process has it.
    static func moveTargets(_ cgroups: TestCgroups) throws -> [MoveTargets] {
        let membership = try #require(CgroupFiles.text("/proc/self/cgroup"))
        let tag = "pwmove\(getpid())-\(UInt16.random(in: 0...UInt16.max))"
        var targets: [MoveTargets] = []
        for hierarchy in TestCgroups.Hierarchy.allCases {
            let a = try cgroups.make("/\(tag)/a.scope", in: hierarchy)
            let b = try cgroups.make("/\(tag)/b.scope", in: hierarchy)
            targets.append(MoveTargets(hierarchy: hierarchy.rawValue, directories: (a, b),
                                       expected: ("/\(tag)/a.scope", "/\(tag)/b.scope")))
        }
        // The memory controller's line (`N:memory:PATH`): A and B under PATH. Its path stands
        // for a process only when no v2 or name=systemd path does and no other v1 path
        // before it is set: the expectation is computed by the rule from this process's.
        let lines = membership.split(separator: "\n").map(String.init)
        if let index = lines.firstIndex(where: { $0.split(separator: ":", maxSplits: 2).dropFirst().first == "memory" }) {
            let own = String(lines[index].split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)[2])
            let base = "/sys/fs/cgroup/memory" + (own == "/" ? "" : own)
            let prefix = own == "/" ? "" : own
            let a = try cgroups.make("/\(tag)/a.scope", under: base)
            let b = try cgroups.make("/\(tag)/b.scope", under: base)
            let expected = { (path: String) -> String in
                var moved = lines
                moved[index] = lines[index].split(separator: ":", maxSplits: 2).prefix(2).joined(separator: ":") + ":" + path
                return CgroupMembership.attributedPath(procCgroup: moved.joined(separator: "\n")) ?? ""
            }
            targets.append(MoveTargets(hierarchy: "/sys/fs/cgroup/memory", directories: (a, b),
                                       expected: (expected("\(prefix)/\(tag)/a.scope"), expected("\(prefix)/\(tag)/b.scope"))))
        }
        return targets
    }

    /// A process moved to another cgroup (its pid written to `cgroup.procs`) is attributed
    /// to the new one from its next exec on — the exec itself, its children forked after,
    /// their events — with both sources, in the v2 hierarchy, in `name=systemd` and in a v1
    /// controller's: the kernel side names the cgroup of any hierarchy by id, and an id
    /// resolved for the first process must not stand for the next one in another cgroup.
    @Test(.enabled(if: getuid() == 0, "needs root"), arguments: ["connector", "bpf"])
    func aProcessMovedToAnotherCgroupIsAttributedThereFromItsExec(source: String) throws {
        if source == "bpf", !kernelWatchersAvailable { return }
        let cgroups = TestCgroups()
        defer { #expect(cgroups.removeAll() == []) }
        let targets = try Self.moveTargets(cgroups)
        // Into A, exec; a child; into B, exec; a child; the last command (dash may exec it).
        let scripts = targets.map { target in
            "echo $$ > \(target.directories.a)/cgroup.procs && exec /bin/sh -c '/bin/true; "
                + "echo $$ > \(target.directories.b)/cgroup.procs && exec /bin/sh -c \"/bin/true; sleep 0.05\"'"
        }
        let (events, shells) = try watchShells(source: source, scripts)
        for (target, shell) in zip(targets, shells) {
            // Each event of the shell and of its children, with the cgroup it must carry: A
            // from the shell's second exec, B from its third (and for a child, by its fork's
            // place: the third sh forks the second /bin/true, and sleep too where dash forks it).
            let own = events.indices.filter { events[$0]["pid"] as? Int == Int(shell) }
            let execs = own.filter { events[$0]["event"] as? String == "exec" }
            try #require(execs.count >= 3, "\(target), \(source): \(own.map { events[$0] })")
            let cgroup = { (index: Int) in index < execs[2] ? target.expected.a : target.expected.b }
            var expectations = own.filter { $0 >= execs[1] }.map { (events[$0], cgroup($0)) }
            let forks = events.indices.filter { events[$0]["event"] as? String == "fork" && events[$0]["ppid"] as? Int == Int(shell) }
            #expect(forks.contains { $0 < execs[2] } && forks.contains { $0 > execs[2] }, "\(target), \(source)")
            for fork in forks {
                let child = events[fork]["pid"] as? Int
                let childEvents = events.filter { $0["pid"] as? Int == child }
                #expect(childEvents.map { $0["event"] as? String } == ["fork", "exec", "exit"], "\(childEvents)")
                expectations += childEvents.map { ($0, cgroup(fork)) }
            }
            for (event, cgroup) in expectations {
                #expect(event["cgroup"] as? String == cgroup, "\(target), \(source): \(event)")
            }
        }
    }
}

extension LiveKernelTests.CommandLineTests {
    /// Runs `procwatch --source SOURCE --json -e fork,exec,exit`, then each script in a shell
    /// of its own, one after the other; returns its events, once the last shell's exit is
    /// among them, and the shells' pids.
    func watchShells(source: String, _ scripts: [String]) throws -> (events: [[String: Any]], shells: [Int32]) {
        let procwatch = try RunningProcwatch(["--source", source, "--json", "-e", "fork,exec,exit"])
        defer { procwatch.end() }
        try #require(procwatch.waitForSourceLine()?.hasPrefix("procwatch: source: \(source)") == true, "\(procwatch.stderr)")
        usleep(200_000)  // the process table is seeded before the first event is read
        var shells: [Int32] = []
        for script in scripts {
            let shell = try Spawn.start(["/bin/sh", "-c", script])
            Spawn.wait(shell)
            shells.append(shell)
        }
        let last = shells.last!
        #expect(eventually { (try? jsonLines(procwatch.stdout))?.contains { $0["event"] as? String == "exit" && $0["pid"] as? Int == Int(last) } == true })
        procwatch.end()
        return (try jsonLines(procwatch.stdout), shells)
    }
}
