import Glibc
import Testing
@testable import ProcWatch

/// The kernel-side source through the real binary: every way procwatch ends detaches its
/// programs. Only the programs this procwatch holds are looked at (other tests on the host
/// may have their own loaded), and no connector is subscribed (`--source bpf`), so SIGKILL
/// leaks nothing.
@Suite("Kernel-side source: every way out detaches", .serialized,
       .enabled(if: kernelWatchersAvailable, "needs root and libbpf.so.1"))
struct KernelSourceDetachTests {
    /// Starts `procwatch --source bpf --json` and returns it with the programs it holds.
    func started(readsOutput: Bool = true) throws -> (RunningProcwatch, Set<Int>) {
        let procwatch = try RunningProcwatch(["--source", "bpf", "--json"], readsOutput: readsOutput)
        #expect(procwatch.waitForSourceLine() == "procwatch: source: bpf (asked for)")
        let ids = BPFPrograms.owned(by: procwatch.pid)
        #expect(try BPFPrograms.names(attachedBy: procwatch.pid) == KernelWatchers.programs.map(\.name).sorted())
        return (procwatch, ids)
    }

    @Test(arguments: [SIGINT, SIGTERM, SIGSEGV, SIGABRT, SIGKILL])
    func signal(_ signal: Int32) throws {
        let (procwatch, ids) = try started()
        kill(procwatch.pid, signal)
        let ended = procwatch.wait()
        if ended == nil { kill(procwatch.pid, SIGKILL) }  // never left running; no connector subscription
        let status = try #require(ended, "still running after signal \(signal)")
        if signal == SIGINT || signal == SIGTERM {
            #expect(status == 0, "\(procwatch.stderr)")
        } else {
            #expect(status & 0x7F == signal, "status \(status)")
        }
        #expect(BPFPrograms.allGone(ids), "signal \(signal)")
    }

    /// `procwatch --source bpf --json | head -n 1`: the reader of its output goes away.
    @Test func closedPipe() throws {
        let (procwatch, ids) = try started(readsOutput: false)
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while !line.contains(UInt8(ascii: "\n")) {
            _ = try Spawn.run(["/bin/true"])
            var ready = pollfd(fd: procwatch.outputDescriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 100) > 0 else { continue }
            guard read(procwatch.outputDescriptor, &byte, 1) == 1 else { break }
            line.append(byte)
        }
        close(procwatch.outputDescriptor)
        // Events keep coming; the next write finds the pipe closed.
        var status: Int32?
        for _ in 0..<100 where status == nil {
            _ = try Spawn.run(["/bin/true"])
            status = Spawn.wait(procwatch.pid, timeout: .milliseconds(100))
        }
        if status == nil {
            // Never left running (SIGKILL is safe: --source bpf holds no connector subscription).
            kill(procwatch.pid, SIGKILL)
            Spawn.wait(procwatch.pid)
        }
        let ended = try #require(status, "procwatch kept running with its output closed")
        #expect(ended & 0x7F == SIGPIPE || ended == 0, "status \(ended)")
        #expect(BPFPrograms.allGone(ids))
    }
}
