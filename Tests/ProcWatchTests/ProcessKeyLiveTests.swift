import Foundation
import Glibc
import Testing
@testable import ProcWatch

extension LiveKernelTests.CommandLineTests {
    /// Two processes of one run with the same pid have different `process_key`s, and every
    /// event of each carries its own. The pid is reused on purpose: `ns_last_pid` (root) is
    /// set just below the first process's pid before the second fork, retried while another
    /// process on the host takes the pid first.
    @Test(.enabled(if: getuid() == 0, "needs root"), arguments: ["connector", "bpf"])
    func aReusedPidGetsAnotherProcessKey(source: String) throws {
        if source == "bpf", !kernelWatchersAvailable { return }
        let procwatch = try RunningProcwatch(["--source", source, "--json", "-e", "fork,exec,exit"])
        defer { procwatch.end() }
        try #require(procwatch.waitForSourceLine()?.hasPrefix("procwatch: source: \(source)") == true, "\(procwatch.stderr)")
        usleep(200_000)  // the process table is seeded before the first event is read
        let script = """
            /bin/true & a=$!; wait $a; i=0
            while [ $i -lt 200 ]; do
              echo $((a - 1)) > /proc/sys/kernel/ns_last_pid; /bin/true & b=$!; wait $b
              [ $b = $a ] && break; i=$((i + 1))
            done
            echo $a $b
            """
        let output = try Spawn.capture(["/bin/sh", "-c", script])
        let pids = output.stdout.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        try #require(pids.count == 2 && pids[0] == pids[1], "the pid was not reused: \(output.stdout)")
        let shell = output.pid
        #expect(eventually { procwatch.stdout.split(separator: "\n").contains { $0.contains("\"event\":\"exit\"") && $0.contains("\"pid\":\(shell),") } })
        procwatch.end()
        // The reused pid's events in order; each process from its fork by the shell to its exit.
        var processes: [[[String: Any]]] = []
        for event in try jsonLines(procwatch.stdout) where event["pid"] as? Int == pids[0] {
            if event["event"] as? String == "fork" {
                processes.append(event["ppid"] as? Int == Int(shell) ? [event] : [])
            } else if !processes.isEmpty {
                processes[processes.count - 1].append(event)
            }
        }
        let ours = processes.filter { !$0.isEmpty }
        try #require(ours.count == 2, "\(processes)")
        let keys = ours.map { Set($0.compactMap { $0["process_key"] as? String }) }
        #expect(ours.map { $0.map { $0["event"] as? String } } == [["fork", "exec", "exit"], ["fork", "exec", "exit"]])
        #expect(keys.map(\.count) == [1, 1], "every event of a process carries its one key: \(keys)")
        #expect(ours.map { $0.filter { $0["process_key"] == nil }.count } == [0, 0])
        #expect(keys[0] != keys[1])
        for key in keys.flatMap({ $0 }) {
            #expect(key.hasPrefix("\(ProcessKey.boot)-\(pids[0])-"))
        }
    }
}
