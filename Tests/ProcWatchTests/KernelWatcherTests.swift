import CProcWatch
import Glibc
import Synchronization
import Testing
@testable import ProcWatch

/// Whether the kernel-side watchers can run here: root and libbpf.so.1 (CI has both).
let kernelWatchersAvailable: Bool = {
    var reason = [CChar](repeating: 0, count: 256)
    return getuid() == 0 && procwatch_libbpf_load(&reason, reason.count) != nil
}()

/// The kernel-side watchers against the real kernel: the same workloads as the connector's
/// live tests, seen through the same watchers, with the fields the kernel took at the event.
@Suite("Kernel-side watchers", .serialized, .enabled(if: kernelWatchersAvailable, "needs root and libbpf.so.1"))
struct KernelWatcherTests {
    static let bpf = ProcessEventSource.Configuration(backend: .bpf)

    func names(_ events: [ProcessEvent]) -> [String] { events.map(\.name) }

    @Test func forkExecExitWithExitCodeAndArgv() throws {
        let recording = try LiveRecording(configuration: Self.bpf)
        #expect(recording.source.backendChoice == BackendChoice(backend: .bpf, reason: "asked for"))
        let child = try Spawn.run(["/bin/sh", "-c", "exit 3"])
        let events = recording.waitForExit(of: child.pid)
        try #require(names(events) == ["fork", "exec", "exit"], "\(events) of \(recording.recorder.count)")
        let task = TaskID(pid: child.pid, tid: child.pid)
        // The parent is the test's thread that spawned the child.
        guard case .fork(let parent, let forked) = events[0].detail else { Issue.record("\(events)"); return }
        #expect(parent.pid == getpid())
        #expect(forked == task)
        #expect(events[1].detail == .exec(task))
        let exec = try #require(events[1].kernelDetails?.exec)
        #expect(exec.commandLine == ["/bin/sh", "-c", "exit 3"])
        #expect(exec.isCommandLineCut == false)
        #expect(exec.executable == "/bin/sh")
        #expect(exec.uid == 0 && exec.effectiveUID == 0 && exec.gid == 0 && exec.effectiveGID == 0)
        #expect(events[2].detail == .exit(task, waitStatus: 768, exitSignal: 17, parent: parent))
        #expect(events[2].exitStatus == .exited(3))
        let usage = try #require(events[2].kernelDetails?.usage)
        #expect(usage.recordCount == 1)
        #expect(usage.peakRSSKiB > 0)

        let tru = try Spawn.run(["/bin/true", "a", "b"])
        let second = recording.waitForExit(of: tru.pid)
        try #require(names(second) == ["fork", "exec", "exit"])
        #expect(second[1].kernelDetails?.exec?.commandLine == ["/bin/true", "a", "b"])
        guard case .fork(let secondParent, _) = second[0].detail else { return }
        #expect(second[2].detail == .exit(TaskID(pid: tru.pid, tid: tru.pid), waitStatus: 0, exitSignal: 17,
                                          parent: secondParent))
    }
}
