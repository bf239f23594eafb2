import Foundation
import Glibc
import Testing

/// `contrib/procwatch.service` as systemd reads it, and `procwatch daemon` refusing a bad
/// configuration as a user (or systemd) would see it: the built binary, one line, status 64.
@Suite("Daemon unit and command line", .serialized)
struct DaemonUnitTests {
    /// A temporary directory, removed after `body`.
    func withDirectory<T>(_ body: (String) throws -> T) throws -> T {
        let directory = "/tmp/procwatch-unit-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try #require(mkdir(directory, 0o700) == 0)
        defer { _ = try? Spawn.run(["rm", "-rf", directory]) }
        return try body(directory)
    }

    /// `systemd-analyze verify` checks that ExecStart's binary exists and is executable, and
    /// that the Documentation= man page is installed; neither is true of a checkout. So the
    /// copy verified here differs from the shipped unit in ExecStart's path only — the built
    /// `procwatch` instead of /usr/bin/procwatch — and the man check is off (--man=no); every
    /// other line is verified as shipped. The package test verifies the installed unit
    /// itself, unmodified and with its man page, where both exist.
    @Test(.enabled(if: access("/usr/bin/systemd-analyze", X_OK) == 0, "needs systemd-analyze (Debian systemd; scripts/test installs it)"))
    func systemdAcceptsTheUnit() throws {
        let shipped = try String(contentsOfFile: PackagingTests.root + "/contrib/procwatch.service", encoding: .utf8)
        let lines = shipped.split(separator: "\n", omittingEmptySubsequences: false)
        try #require(lines.filter { $0.hasPrefix("ExecStart=") } == ["ExecStart=/usr/bin/procwatch daemon"])
        let copy = lines.map { $0.hasPrefix("ExecStart=") ? "ExecStart=\(Spawn.procwatchBinary) daemon" : String($0) }.joined(separator: "\n")
        try withDirectory { directory in
            let path = directory + "/procwatch.service"
            try copy.write(toFile: path, atomically: false, encoding: .utf8)
            let verify = try Spawn.capture(["/usr/bin/systemd-analyze", "verify", "--man=no", path])
            #expect(verify.status == 0)
            #expect(verify.stdout == "")
            #expect(verify.stderr == "")
            // The check is real: a bad value is reported, naming the line (verify still exits
            // 0 on such a warning, hence the empty output expected above).
            try copy.replacingOccurrences(of: "ProtectHome=yes", with: "ProtectHome=perhaps").write(toFile: path, atomically: false, encoding: .utf8)
            let bad = try Spawn.capture(["/usr/bin/systemd-analyze", "verify", "--man=no", path])
            #expect(bad.stderr.contains("Failed to parse protect home value, ignoring: perhaps"), "\(bad.stderr)")
        }
    }

    @Test func theUnitIsTheOneTheTaskDescribes() throws {
        let unit = try String(contentsOfFile: PackagingTests.root + "/contrib/procwatch.service", encoding: .utf8)
        let settings = Set(unit.split(separator: "\n").filter { !$0.hasPrefix("#") && $0.contains("=") }.map(String.init))
        for line in ["Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "ProtectSystem=strict", "ProtectHome=yes", "NoNewPrivileges=yes",
                     "PrivateTmp=yes", "StateDirectory=procwatch", "RuntimeDirectory=procwatch", "RestartPreventExitStatus=64",
                     "RestrictAddressFamilies=AF_UNIX AF_NETLINK AF_INET AF_INET6",
                     "CapabilityBoundingSet=CAP_NET_ADMIN CAP_BPF CAP_PERFMON CAP_SYS_RESOURCE CAP_SYS_PTRACE CAP_DAC_READ_SEARCH CAP_CHOWN",
                     "AmbientCapabilities=CAP_NET_ADMIN CAP_BPF CAP_PERFMON CAP_SYS_RESOURCE CAP_SYS_PTRACE CAP_DAC_READ_SEARCH CAP_CHOWN"] {
            #expect(settings.contains(line), "\(line) missing")
        }
    }

    /// Runs the built `procwatch daemon ARGUMENTS` (forwarded to procwatch-store).
    func daemon(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let run = try Spawn.capture([Spawn.procwatchBinary, "daemon"] + arguments)
        return (run.status, run.stdout, run.stderr)
    }

    @Test func aBadConfigurationExits64WithOneLine() throws {
        try withDirectory { directory in
            let path = directory + "/bad.yaml"
            try "socket: /run/pw.sock\nkeep: 14x\n".write(toFile: path, atomically: false, encoding: .utf8)
            let run = try daemon(["--config", path])
            #expect(run.status >> 8 == 64)
            #expect(run.stderr == "procwatch: daemon: \(path): keep: \"14x\" is not a duration (examples: 14d, 36h, 90m)\n")
            #expect(run.stdout == "")

            let missing = try daemon(["--config", directory + "/none.yaml"])
            #expect(missing.status >> 8 == 64)
            #expect(missing.stderr == "procwatch: daemon: \(directory)/none.yaml: cannot read: No such file or directory\n")

            let flag = try daemon(["--max-size", "huge"])
            #expect(flag.status >> 8 == 64)
            #expect(flag.stderr == "procwatch: daemon: --max-size: \"huge\" is not a size (examples: 2GiB, 500MB)\n")

            // --events is the daemon's; -e and --source the root's, checked there as for the live view.
            let events = try daemon(["--events", "exec,nope"])
            #expect(events.status >> 8 == 64)
            #expect(events.stderr.hasPrefix("procwatch: daemon: --events: unknown event \"nope\" (known: fork, clone, "))
            let short = try daemon(["-e", "exec,nope"])
            #expect(short.status >> 8 == 64)
            #expect(short.stderr.hasPrefix("procwatch: unknown event 'nope' in -e; known: fork, clone, "))
            let source = try daemon(["--source", "ebpf"])
            #expect(source.status >> 8 == 64)
            #expect(source.stderr.hasPrefix("procwatch: The value 'ebpf' is invalid for '--source <SOURCE>'"), "\(source.stderr)")
            // A good -e and --source reach the settings: the file's bad key is then the one refused.
            let both = try daemon(["-e", "exec", "--source", "connector", "--config", path])
            #expect(both.status >> 8 == 64)
            #expect(both.stderr == "procwatch: daemon: \(path): keep: \"14x\" is not a duration (examples: 14d, 36h, 90m)\n")
            let unused = try daemon(["--pid", "1"])
            #expect(unused.status >> 8 == 64)
            #expect(unused.stderr == "procwatch: daemon does not take --pid\n")
            let twice = try daemon(["-e", "exec", "--events", "exit"])
            #expect(twice.status >> 8 == 64)
            #expect(twice.stderr == "procwatch: --events and -e/-E both choose events: use one\n")
        }
    }

    /// swift-argument-parser exits with EX_USAGE (64) for a flag it does not know or a
    /// missing value, as for a bad configuration: one status for every usage error.
    @Test func aBadFlagExits64Too() throws {
        let unknown = try daemon(["--bogus"])
        #expect(unknown.status >> 8 == 64)
        #expect(unknown.stderr == "procwatch: Unknown option '--bogus'\n")
        let missing = try daemon(["--keep"])
        #expect(missing.status >> 8 == 64)
        #expect(missing.stderr == "procwatch: Missing value for '--keep <AGE>'\n")
    }
}
