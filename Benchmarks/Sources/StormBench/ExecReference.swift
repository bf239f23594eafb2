import Glibc

/// The bpftrace reference running in the background: started before the consumers,
/// stopped after them, its stdout read back as a `ReferenceLog`.
struct ExecReference {
    let pid: pid_t
    let outputPath: String
    let errorPath: String

    /// Starts `bpftrace script` and returns once it provably sees execs: READY printed, and
    /// a sentinel `/bin/true` run after that shows up (bpftrace may run BEGIN before the
    /// tracepoints are attached).
    static func start(bpftrace: String, script: String, outputBase: String) throws -> ExecReference {
        try mountTracefs()
        // The script's buf() pieces are 128 bytes: bpftrace 0.17 caps buf() at BPFTRACE_STRLEN.
        setenv("BPFTRACE_STRLEN", "128", 1)
        let reference = ExecReference(
            pid: try spawn([bpftrace, script], stdout: .file(outputBase + ".out"), stderr: .file(outputBase + ".err")),
            outputPath: outputBase + ".out", errorPath: outputBase + ".err")
        do {
            // Compiling and verifying takes a few seconds, more on a busy machine.
            try reference.waitUntil(timeout: 120) { bytes in
                var ready = false
                forEachLine(bytes) { if ByteLine($0).text(0..<$0.count) == "READY" { ready = true } }
                return ready
            }
            var seen = false
            for _ in 0..<20 where !seen {
                let sentinel = try spawn(["/bin/true", "storm-bench-reference-ready"], stdout: .devNull, stderr: .devNull)
                _ = waitFor(sentinel)
                seen = (try? reference.waitForExec(of: sentinel, timeout: 0.5)) != nil
            }
            guard seen else { throw BenchError("bpftrace printed READY but shows no exec") }
        } catch {
            _ = reference.stop()
            throw error
        }
        return reference
    }

    /// Waits until the reference has printed the exec of `pid` (run after everything that
    /// must be in the record: bpftrace prints each CPU's buffer in turn).
    func waitForExec(of pid: pid_t, timeout: Double = 10) throws {
        let wanted = "\(pid)"
        try waitUntil(timeout: timeout) { bytes in
            var found = false
            forEachLine(bytes) { raw in
                guard !found, raw.count > 2, raw[0] == UInt8(ascii: "X") else { return }
                let line = ByteLine(raw)
                let tokens = line.tokens(limit: 3)
                found = tokens.count == 3 && line.text(tokens[2]) == wanted
            }
            return found
        }
    }

    /// Stops bpftrace (SIGINT: it prints what it holds and detaches) and says how it ended.
    func stop() -> (termination: Termination, problem: String?) {
        stopGently(pid)
    }

    /// Everything bpftrace wrote on stderr but its harmless RLIMIT_MEMLOCK complaint (the
    /// kernel charges BPF memory to the cgroup; see DESIGN.md).
    var errors: [String] {
        readText(errorPath).split(separator: "\n").map(String.init).filter { !$0.contains("RLIMIT_MEMLOCK") }
    }

    private func waitUntil(timeout: Double, _ done: ([UInt8]) -> Bool) throws {
        let deadline = monotonicNow() + timeout
        while true {
            if done(readBytes(outputPath) ?? []) { return }
            if let end = waitFor(pid, timeout: 0) {
                throw BenchError("bpftrace ended with \(end.description): " + errors.joined(separator: " | "))
            }
            guard monotonicNow() < deadline else { throw BenchError("bpftrace: nothing after \(Int(timeout)) s") }
            sleepSeconds(0.05)
        }
    }

    /// bpftrace's tracepoints need tracefs at /sys/kernel/tracing.
    private static func mountTracefs() throws {
        guard access("/sys/kernel/tracing/events/syscalls", F_OK) != 0 else { return }
        let pid = try spawn(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"], stdout: .devNull, stderr: .devNull)
        guard waitFor(pid).exitedCleanly, access("/sys/kernel/tracing/events/syscalls", F_OK) == 0 else {
            throw BenchError("tracefs is not mounted and `mount -t tracefs nodev /sys/kernel/tracing` failed")
        }
    }
}
