import Glibc
import Testing
@testable import ProcWatch

/// The process table's cgroup attribution and keys, over a scripted /proc: read at exec,
/// inherited at fork, kept when the exec could not be read, kept after the exit.
@Suite struct AttributionTableTests {
    func event(_ detail: ProcessEvent.Detail, at nanoseconds: UInt64) -> ProcessEvent {
        ProcessEvent(detail: detail, timestamp: EventTimestamp(monotonicNanoseconds: nanoseconds, unixNanoseconds: Int64(nanoseconds)))
    }

    let shell = TaskID(pid: 4_000_001, tid: 4_000_001)
    let child = TaskID(pid: 4_000_002, tid: 4_000_002)
    static let id = String(repeating: "ab", count: 32)
    let docker = "/system.slice/docker-\(id).scope"

    @Test func readAtExecInheritedAtForkKeptWhenTheExecIsUnreadAndAfterTheExit() {
        let files = ScriptedProcFS()
        files[shell.pid] = .init(name: "sh", commandLine: ["sh"], cgroup: docker)
        let table = ProcessTable(seed: false, executables: false, files: files)
        let exec = table.apply(event(.exec(shell), at: 10))
        #expect(exec?.cgroup == docker)
        #expect(exec?.container == ContainerAttribution(id: Self.id, runtime: .docker))
        // The child is gone before its exec is read: it keeps what it inherited.
        let forked = table.apply(event(.fork(parent: shell, child: child), at: 20))
        #expect(forked?.cgroup == docker)
        #expect(forked?.key == ProcessKey(pid: child.pid, startNanoseconds: 20))
        let childExec = table.apply(event(.exec(child), at: 30))
        #expect(childExec?.cgroup == docker)
        #expect(childExec?.container?.id == Self.id)
        let exit = event(.exit(child, waitStatus: 0, exitSignal: 17, parent: shell), at: 40)
        let exited = table.apply(exit)
        #expect(exited?.container?.id == Self.id)
        #expect(exited?.key == forked?.key)
        table.retire(exit)
        // A process whose exec is read in another cgroup takes that one.
        files[shell.pid] = .init(name: "sh", commandLine: ["sh"], cgroup: "/user.slice/user-0.slice/session-3.scope")
        let moved = table.apply(event(.exec(shell), at: 50))
        #expect(moved?.cgroup == "/user.slice/user-0.slice/session-3.scope")
        #expect(moved?.container == nil)
    }

    @Test func aReusedPidGetsAnotherKey() {
        let table = ProcessTable(seed: false, executables: false, files: ScriptedProcFS())
        let first = table.apply(event(.fork(parent: shell, child: child), at: 100))
        let exit = event(.exit(child, waitStatus: 0, exitSignal: 17, parent: shell), at: 200)
        #expect(table.apply(exit)?.key == first?.key)
        table.retire(exit)
        let second = table.apply(event(.fork(parent: shell, child: child), at: 300))
        #expect(first?.key?.description == "\(ProcessKey.boot)-4000002-100")
        #expect(second?.key?.description == "\(ProcessKey.boot)-4000002-300")
    }

    @Test func keysReadBackAsWritten() {
        let key = ProcessKey(pid: 42, startNanoseconds: 81_234_567_890)
        #expect(ProcessKey(key.description) == key)
        #expect(ProcessKey("xyz-42-1") == nil)
        #expect(ProcessKey("0123abcd-42") == nil)
    }

    @Test func theBootIsThisBootsID() throws {
        let fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 36)
        #expect(read(fd, &bytes, 36) == 36)
        #expect(ProcessKey.boot == String(decoding: bytes.prefix(8), as: UTF8.self))
    }
}
