import Foundation
import GRDB
import Glibc
import Testing
@testable import ProcWatch
@testable import ProcWatchStore

/// The store's process identity and container columns, and the report's per-container
/// totals, on a small workload fed without the kernel.
@Suite("Containers in the store (no kernel)")
struct ContainerStoreTests {
    static let id = String(repeating: "c0ffee", count: 10) + "abcd"
    static let docker = "/system.slice/docker-\(id).scope"

    /// A containerd container of a burstable Kubernetes pod, as the kubelet's systemd driver
    /// names it (the pod's UID with `_` for `-`).
    static let pod = "6f1c3a2e-9b7d-4c1e-8a55-0d2f4e6b8c91"
    static let podContainer = String(repeating: "b1", count: 32)
    static let kubelet = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(pod.replacingOccurrences(of: "-", with: "_")).slice/"
        + "cri-containerd-\(podContainer).scope"

    /// A shell in a container (`container`: a Docker one) runs `false` there; a host process's
    /// exit was lost and its pid comes back (its fork lost too) under another key.
    static func record(into path: String, container: String = docker) throws {
        let recorder = try StoreWorkload.recorder(path, taskstats: false)
        let (base, at) = StoreWorkload.clock()
        func task(_ pid: Int32) -> TaskID { TaskID(pid: pid, tid: pid) }
        func process(_ pid: Int32, _ name: String, cgroup: String, start: UInt64, end: UInt64? = nil) -> ProcessRecord {
            var record = ProcessRecord(pid: pid, parentPID: 100, name: name, commandLine: [name],
                                       startNanoseconds: base + start * 1_000_000, endNanoseconds: end.map { base + $0 * 1_000_000 })
            record.key = ProcessKey(pid: pid, startNanoseconds: base + start * 1_000_000)
            record.attribute(cgroup: cgroup)
            return record
        }
        func send(_ detail: ProcessEvent.Detail, _ milliseconds: UInt64, _ record: ProcessRecord) {
            recorder.record(EnrichedEvent(event: ProcessEvent(detail: detail, timestamp: at(milliseconds)), process: record))
        }
        send(.fork(parent: task(100), child: task(61001)), 1, process(61001, "sh", cgroup: "/", start: 1))
        send(.exec(task(61001)), 2, process(61001, "sh", cgroup: container, start: 1))
        send(.fork(parent: task(61001), child: task(61002)), 3, process(61002, "sh", cgroup: container, start: 3))
        send(.exec(task(61002)), 4, process(61002, "false", cgroup: container, start: 3))
        send(.exit(task(61002), waitStatus: 256, exitSignal: 17, parent: task(61001)), 5, process(61002, "false", cgroup: container, start: 3, end: 5))
        send(.comm(task(61003), name: "old"), 6, process(61003, "old", cgroup: "/user.slice", start: 0))
        send(.comm(task(61003), name: "new"), 7, process(61003, "new", cgroup: "/user.slice", start: 6))
        send(.exit(task(61003), waitStatus: 0, exitSignal: 17, parent: task(100)), 8, process(61003, "new", cgroup: "/user.slice", start: 6, end: 8))
        send(.exit(task(61001), waitStatus: 0, exitSignal: 17, parent: task(100)), 9, process(61001, "sh", cgroup: container, start: 1, end: 9))
        usleep(20_000)
        try recorder.finish(reason: "signal")
    }

    @Test func processRowsCarryKeyAndContainerAndAReusedPidGetsItsOwnRow() throws {
        let path = StoreWorkload.temporaryPath("containers.db")
        defer { StoreWorkload.remove(path) }
        try Self.record(into: path)
        let rows = try StoreWorkload.rows(path, "SELECT id, pid, comm, cgroup, container_id, container_runtime, failed FROM processes ORDER BY id")
        #expect(rows == [
            "1|61001|sh|\(Self.docker)|\(Self.id)|docker|0",
            "2|61002|false|\(Self.docker)|\(Self.id)|docker|1",
            "3|61003|old|/user.slice|-|-|-",
            "4|61003|new|/user.slice|-|-|0",
        ])
        // Each row's key is the one every event of its process carries.
        let keys = try StoreWorkload.rows(path, "SELECT p.id, count(DISTINCT e.process_key), min(e.process_key) = p.process_key FROM processes p JOIN events e ON e.process = p.id GROUP BY p.id ORDER BY p.id")
        #expect(keys == ["1|1|1", "2|1|1", "3|1|1", "4|1|1"])
        #expect(try StoreWorkload.rows(path, "SELECT count(DISTINCT process_key) FROM processes") == ["4"])
        #expect(try StoreWorkload.rows(path, "SELECT DISTINCT container_id, container_runtime FROM events WHERE pid = 61002 OR (pid = 61001 AND event != 'fork')")
            == ["\(Self.id)|docker"])
    }

    @Test func reportGroupsByContainer() throws {
        let path = StoreWorkload.temporaryPath("by-container.db")
        defer { StoreWorkload.remove(path) }
        try Self.record(into: path)
        let report = try ReportReader.load(path: path)
        #expect(report.byContainer == [
            .init(id: Self.id, runtime: "docker", processes: 2, failed: 1, cpuSeconds: 0),
            .init(id: nil, runtime: nil, processes: 2, failed: 0, cpuSeconds: 0),
        ])
        let lines = report.text().split(separator: "\n").map(String.init)
        let section = try #require(lines.firstIndex(of: "by container:"))
        #expect(Array(lines[(section + 1)...(section + 3)]) == [
            "  CONTAINER     RUNTIME          PROCESSES  FAILED         CPU",
            "  c0ffeec0ffee  docker                   2       1   0.000000s",
            "  (host)        -                        2       0   0.000000s",
        ])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        let groups = try #require(json["by_container"] as? [[String: Any]])
        #expect(groups.map { $0["container"] as? String } == [Self.id, "(host)"])
        #expect(groups.map { $0["runtime"] as? String } == ["docker", nil])
        #expect(groups.map { $0["processes"] as? Int } == [2, 2])
        #expect(groups.map { $0["failed"] as? Int } == [1, 0])
    }

    /// A Kubernetes pod's container: its rows carry the pod's UID and QoS class next to the
    /// container, and the report's by-container section adds a POD column.
    @Test func processRowsAndTheReportCarryThePod() throws {
        let path = StoreWorkload.temporaryPath("pod.db")
        defer { StoreWorkload.remove(path) }
        try Self.record(into: path, container: Self.kubelet)
        #expect(try StoreWorkload.rows(path, "SELECT id, comm, container_id, container_runtime, pod_uid, pod_qos FROM processes ORDER BY id") == [
            "1|sh|\(Self.podContainer)|containerd|\(Self.pod)|burstable",
            "2|false|\(Self.podContainer)|containerd|\(Self.pod)|burstable",
            "3|old|-|-|-|-",
            "4|new|-|-|-|-",
        ])
        let report = try ReportReader.load(path: path)
        #expect(report.byContainer == [
            .init(id: Self.podContainer, runtime: "containerd", processes: 2, failed: 1, cpuSeconds: 0, podUID: Self.pod, podQoS: "burstable"),
            .init(id: nil, runtime: nil, processes: 2, failed: 0, cpuSeconds: 0),
        ])
        let lines = report.text().split(separator: "\n").map(String.init)
        let section = try #require(lines.firstIndex(of: "by container:"))
        #expect(Array(lines[(section + 1)...(section + 3)]) == [
            "  CONTAINER     RUNTIME          PROCESSES  FAILED         CPU  POD",
            "  b1b1b1b1b1b1  containerd               2       1   0.000000s  \(Self.pod) burstable",
            "  (host)        -                        2       0   0.000000s  -",
        ])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        let groups = try #require(json["by_container"] as? [[String: Any]])
        #expect(groups.map { $0["container"] as? String } == [Self.podContainer, "(host)"])
        #expect(groups.map { $0["pod_uid"] as? String } == [Self.pod, nil])
        #expect(groups.map { $0["pod_qos"] as? String } == ["burstable", nil])
        #expect(groups.map { $0.keys.contains("pod_uid") } == [true, false])
    }

    /// A file recorded before `pod_uid` and `pod_qos` existed: the report reads it (no pod,
    /// no POD column), and `record` adds the columns when it appends, NULL in the old rows.
    @Test func aFileWithoutThePodColumnsIsReadAndAppendedTo() throws {
        let path = StoreWorkload.temporaryPath("pre-pod.db")
        defer { StoreWorkload.remove(path) }
        try Self.record(into: path, container: Self.kubelet)
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: "ALTER TABLE processes DROP COLUMN pod_uid; ALTER TABLE processes DROP COLUMN pod_qos") }
        try queue.close()
        let old = try ReportReader.load(path: path)
        #expect(old.byContainer.first == .init(id: Self.podContainer, runtime: "containerd", processes: 2, failed: 1, cpuSeconds: 0))
        #expect(old.text().split(separator: "\n").contains("  CONTAINER     RUNTIME          PROCESSES  FAILED         CPU"))
        try Self.record(into: path, container: Self.kubelet)
        #expect(try StoreWorkload.rows(path, "SELECT recording, count(*), count(pod_uid), group_concat(DISTINCT pod_qos) FROM processes GROUP BY recording")
            == ["1|4|0|-", "2|4|2|burstable"])
    }
}
