import Glibc
import Testing
@testable import ProcWatch

/// `--source bpf` when BPF is refused, through the real binaries: every command that
/// watches says why in one line and exits 2, before doing anything else. The refusal is the
/// library's test-only switch (`PROCWATCH_TEST_BPF_REFUSAL`), or libbpf made missing with
/// `PROCWATCH_LIBBPF`; neither needs root, as nothing reaches the kernel.
@Suite("--source bpf refused")
struct SourceRefusalTests {
    static let refusal = "loading the BPF programs was refused (EPERM): run as root, or grant CAP_BPF and CAP_PERFMON"

    static func refused(_ arguments: [String], environment: [String] = ["PROCWATCH_TEST_BPF_REFUSAL=\(refusal)"]) throws
        -> (status: Int32, stdout: String, stderr: String) {
        let run = try Spawn.capture(["/usr/bin/env"] + environment + [Spawn.procwatchBinary] + arguments)
        return (run.status, run.stdout, run.stderr)
    }

    @Test(arguments: [
        ["--source", "bpf"],
        ["--source", "bpf", "--json", "-e", "all"],
        ["stats", "--source", "bpf"],
        ["jobs", "--group", "a=^a$", "--source", "bpf"],
    ])
    func watchingCommandSaysWhyAndExits2(_ arguments: [String]) throws {
        let run = try Self.refused(arguments + ["-D", "5"])
        #expect(run.status == 2 << 8, "\(arguments): \(run.stderr)")
        #expect(run.stderr == "procwatch: the kernel-side (BPF) watchers are unavailable: \(Self.refusal)\n")
        #expect(run.stdout.isEmpty)
    }

    @Test func runStartsNoCommand() throws {
        let marker = "/tmp/procwatch-refused-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(marker) }
        let run = try Self.refused(["run", "--source", "bpf", "--", "/usr/bin/touch", marker])
        #expect(run.status == 2 << 8, "\(run.stderr)")
        #expect(run.stderr == "procwatch: the kernel-side (BPF) watchers are unavailable: \(Self.refusal)\n")
        #expect(run.stdout.isEmpty)
        #expect(access(marker, F_OK) != 0)
    }

    @Test func recordStartsNoCommandAndEndsItsRecording() throws {
        let marker = "/tmp/procwatch-refused-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let path = StoreWorkload.temporaryPath("refused.db")
        defer {
            unlink(marker)
            StoreWorkload.remove(path)
        }
        let run = try Self.refused(["record", "--source", "bpf", "-o", path, "--", "/usr/bin/touch", marker])
        #expect(run.status == 2 << 8, "\(run.stderr)")
        #expect(run.stderr == "procwatch: the kernel-side (BPF) watchers are unavailable: \(Self.refusal)\n")
        #expect(run.stdout.isEmpty)
        #expect(access(marker, F_OK) != 0)
        #expect(try StoreWorkload.rows(path, "SELECT end_reason FROM meta") == ["error"])
        #expect(try StoreWorkload.rows(path, "SELECT count(*) FROM events") == ["0"])
    }

    @Test func libbpfMissing() throws {
        let run = try Self.refused(["--source", "bpf", "-D", "5"], environment: ["PROCWATCH_LIBBPF=/nonexistent/libbpf.so.1"])
        #expect(run.status == 2 << 8, "\(run.stderr)")
        #expect(run.stderr == "procwatch: the kernel-side (BPF) watchers are unavailable: /nonexistent/libbpf.so.1 not found\n")
        #expect(run.stdout.isEmpty)
    }
}

extension LiveKernelTests.CommandLineTests {
    /// `--source auto` with BPF refused: the one line says the connector is used and why,
    /// and events come from it.
    @Test func autoFallsBackToTheConnectorWithItsReason() throws {
        var child: Int32 = 0
        let refusal = SourceRefusalTests.refusal
        let run = try Spawn.capture(["/usr/bin/env", "PROCWATCH_TEST_BPF_REFUSAL=\(refusal)", Spawn.procwatchBinary,
                                     "--source", "auto", "--json", "-e", "exec", "-D", "2"], started: true) { _ in
            usleep(200_000)
            child = try Spawn.run(["/bin/sh", "-c", "sleep 0.05"]).pid
        }
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr == "procwatch: source: connector (BPF unavailable: \(refusal))\n")
        #expect(try jsonLines(run.stdout).contains { $0["pid"] as? Int == Int(child) && $0["cmdline"] as? [String] == ["/bin/sh", "-c", "sleep 0.05"] },
                "\(run.stdout)")
    }
}
