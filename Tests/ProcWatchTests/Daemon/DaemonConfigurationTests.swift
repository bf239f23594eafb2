import Foundation
import Glibc
import Testing
@testable import ProcWatch
@testable import ProcWatchCLI
@testable import ProcWatchDaemon

/// The daemon's configuration file and flags: every key's parsing, every refusal's one
/// line, flags over the file, and what a reload changes.
@Suite("Daemon configuration", .serialized)
struct DaemonConfigurationTests {
    /// Writes `yaml` to a file of its own, loads it (explicitly, as `--config` does) with
    /// `flags`, removes it.
    func load(_ yaml: String, flags: [DaemonSettingKey: String] = [:]) throws(DaemonConfigurationError) -> DaemonSettings {
        let path = Self.write(yaml)
        defer { unlink(path) }
        return try DaemonConfiguration.load(path: path, flags: flags).settings
    }

    /// The one line loading `yaml` is refused with, the file's path shown as FILE.
    func refusal(_ yaml: String, flags: [DaemonSettingKey: String] = [:]) -> String {
        let path = Self.write(yaml)
        defer { unlink(path) }
        do {
            let settings = try DaemonConfiguration.load(path: path, flags: flags).settings
            return "accepted: \(settings)"
        } catch {
            return error.description.replacingOccurrences(of: path, with: "FILE")
        }
    }

    static func write(_ text: String) -> String {
        let path = "/tmp/procwatch-daemon-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).yaml"
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    @Test func everyKeyParsesToItsExactValue() throws {
        let settings = try load("""
            state_dir: /srv/pw
            socket: /srv/pw.sock
            socket_mode: "0640"
            socket_group: adm
            metrics: "[::1]:9464"
            keep: 36h
            max_size: 500MB
            source: connector
            events: [exec, exit]
            client_queue: 100
            top_programs: 5
            """)
        var expected = DaemonSettings()
        expected.stateDirectory = "/srv/pw"
        expected.socketPath = "/srv/pw.sock"
        expected.socketMode = 0o640
        expected.socketGroup = "adm"
        expected.metricsAddress = "[::1]:9464"
        expected.keep = .seconds(36 * 3_600)
        expected.maxSize = 500_000_000
        expected.source = .connector
        expected.events = try EventSelection(parsing: "exec,exit")
        expected.clientQueue = 100
        expected.topPrograms = 5
        #expect(settings == expected)
        #expect(settings.metricsEndpoint?.description == "[::1]:9464")
        #expect(settings.socketGroupID == 4)
        #expect(settings.events.kinds == [.exec, .exit])
    }

    @Test func defaultsAreTheDocumentedOnes() throws {
        let settings = try load("# nothing but a comment\n")
        #expect(settings == DaemonSettings())
        #expect(settings.stateDirectory == "/var/lib/procwatch")
        #expect(settings.socketPath == "/run/procwatch/procwatch.sock")
        #expect(settings.socketMode == 0o666)
        #expect(settings.socketGroup == nil)
        #expect(settings.metricsAddress == nil)
        #expect(settings.keep == .seconds(1_209_600))
        #expect(settings.maxSize == 2_147_483_648)
        #expect(settings.source == .auto)
        #expect(settings.events == .all)
        #expect(settings.clientQueue == 8192)
        #expect(settings.topPrograms == 20)
    }

    @Test(arguments: [
        ("keep: 14d", Duration.seconds(1_209_600) as Duration?), ("keep: 90m", .seconds(5_400)), ("keep: 45s", .seconds(45)),
        ("keep: 2w", .seconds(1_209_600)), ("keep: 0", nil), ("keep: 0d", nil),
    ])
    func retentionAges(line: String, expected: Duration?) throws {
        #expect(try load(line).keep == expected)
    }

    @Test(arguments: [
        ("max_size: 2GiB", Int64(2_147_483_648) as Int64?), ("max_size: 500MB", 500_000_000), ("max_size: 1 MiB", 1_048_576),
        ("max_size: 3gb", 3_000_000_000), ("max_size: 0", nil), ("max_size: 2000000", 2_000_000),
        ("max_size: 1TiB", 1_099_511_627_776), ("max_size: 1024kib", 1_048_576),
    ])
    func sizes(line: String, expected: Int64?) throws {
        #expect(try load(line).maxSize == expected)
    }

    @Test func socketModesAndEventStrings() throws {
        #expect(try load("socket_mode: 0600").socketMode == 0o600)  // unquoted: still octal
        #expect(try load("socket_mode: \"666\"").socketMode == 0o666)
        #expect(try load("socket_mode: 0o660").socketMode == 0o660)
        #expect(try load("events: exec, exit,nonzeroexit").events == (try EventSelection(parsing: "exec,exit,nonzeroexit")))
        #expect(try load("events: clone").events.threadForks == true)
        #expect(try load("socket_group: \"0\"").socketGroupID == 0)
        #expect(try load("metrics: localhost:80").metricsEndpoint?.description == "127.0.0.1:80")
    }

    @Test(arguments: [
        ("keep: 14x", #"daemon: FILE: keep: "14x" is not a duration (examples: 14d, 36h, 90m)"#),
        ("keep: 14", #"daemon: FILE: keep: "14" is not a duration (examples: 14d, 36h, 90m)"#),
        ("keep: -1d", #"daemon: FILE: keep: "-1d" is not a duration (examples: 14d, 36h, 90m)"#),
        ("keep: 99999999999w", #"daemon: FILE: keep: "99999999999w" is longer than 100 years (0 keeps forever)"#),
        ("max_size: 2GB5", #"daemon: FILE: max_size: "2GB5" is not a size (examples: 2GiB, 500MB)"#),
        ("max_size: 2 G", #"daemon: FILE: max_size: "2 G" is not a size (examples: 2GiB, 500MB)"#),
        ("max_size: 64KiB", #"daemon: FILE: max_size: "64KiB" is less than the least, 1MiB (0 leaves the size unbounded)"#),
        ("max_size: 9999999999TiB", #"daemon: FILE: max_size: "9999999999TiB" is too large (0 leaves the size unbounded)"#),
        ("socket_mode: 0999", #"daemon: FILE: socket_mode: "0999" is not an octal mode (example: 0660)"#),
        ("socket_mode: 4777", #"daemon: FILE: socket_mode: "4777" sets more than permission bits (at most 0777)"#),
        ("socket_group: no-such-group-pw", #"daemon: FILE: socket_group: no group "no-such-group-pw" on this host"#),
        ("metrics: 9464", #"daemon: FILE: metrics: "9464" is not ADDRESS:PORT (example: 127.0.0.1:9464)"#),
        ("metrics: 127.0.0.1:0", #"daemon: FILE: metrics: "127.0.0.1:0": the port must be a number from 1 to 65535 (example: 127.0.0.1:9464)"#),
        ("metrics: ::1:9464", #"daemon: FILE: metrics: "::1:9464" is not ADDRESS:PORT (example: 127.0.0.1:9464)"#),
        ("metrics: example.com:9464", #"daemon: FILE: metrics: example.com:9464 is not a loopback address (metrics are served on 127.0.0.0/8, [::1] or localhost only)"#),
        ("source: ebpf", #"daemon: FILE: source: "ebpf" is not a source (known: auto, bpf, connector, procfs)"#),
        ("events: [exec, forks]", #"daemon: FILE: events: unknown event "forks" (known: fork, clone, exec, exit, core, coredump, comm, ptrace, uid, gid, sid, execfail, exec_failed, nonzeroexit, failed_exit, all)"#),
        ("events: []", #"daemon: FILE: events: the list is empty (example: [exec, exit])"#),
        ("events: [[exec]]", #"daemon: FILE: events: expected event names, found a list in the list"#),
        ("client_queue: lots", #"daemon: FILE: client_queue: "lots" is not a number of events (example: 8192)"#),
        ("client_queue: 0", #"daemon: FILE: client_queue: 0 is out of range (1 to 1048576)"#),
        ("top_programs: 1001", #"daemon: FILE: top_programs: 1001 is out of range (0 to 1000)"#),
        ("state_dir: var/lib/procwatch", #"daemon: FILE: state_dir: "var/lib/procwatch" is not an absolute path"#),
        ("socket: /\(String(repeating: "s", count: 120))", #"daemon: FILE: socket: the path is 121 bytes long; a Unix socket's holds at most 107"#),
        ("keep:", #"daemon: FILE: keep: has no value (leave the key out for the default)"#),
        ("socket: [/a, /b]", #"daemon: FILE: socket: expected a single value, found a list"#),
        ("kep: 14d", #"daemon: FILE: kep: unknown key (did you mean keep?)"#),
        ("state-dir: /x", #"daemon: FILE: state-dir: unknown key (did you mean state_dir?)"#),
        ("colour: red", #"daemon: FILE: colour: unknown key (known: state_dir, socket, socket_mode, socket_group, metrics, keep, max_size, source, events, client_queue, top_programs, sink, spool_memory, spool_max)"#),
        ("keep: 1d\nsource: bpf\nkeep: 2d", #"daemon: FILE: keep: given more than once (first on line 1)"#),
        ("- keep", #"daemon: FILE: expected "key: value" lines, found a list"#),
        ("keep: 1d\nsource: [bpf", #"daemon: FILE: line 3: not YAML: did not find expected ',' or ']'"#),
        ("keep: 1d\n  source: bpf", #"daemon: FILE: line 2: not YAML: mapping values are not allowed in this context"#),
    ])
    func eachBadValueIsOneLineNamingTheKey(yaml: String, expected: String) {
        #expect(refusal(yaml) == expected)
    }

    @Test func flagsOverrideTheFileAndNameThemselvesWhenBad() throws {
        let yaml = "keep: 14d\nsource: bpf\nevents: exec\nstate_dir: /srv/a\nmax_size: 1GiB\n"
        let settings = try load(yaml, flags: [.keep: "36h", .source: "connector", .events: "exit", .stateDir: "/srv/b"])
        #expect(settings.keep == .seconds(129_600))
        #expect(settings.source == .connector)
        #expect(settings.events == (try EventSelection(parsing: "exit")))
        #expect(settings.stateDirectory == "/srv/b")
        #expect(settings.maxSize == 1_073_741_824)  // from the file: no flag for it
        #expect(refusal(yaml, flags: [.keep: "14x"]) == #"daemon: --keep: "14x" is not a duration (examples: 14d, 36h, 90m)"#)
        #expect(refusal(yaml, flags: [.maxSize: "lots", .events: "bogus"])
                == #"daemon: --max-size: "lots" is not a size (examples: 2GiB, 500MB)"#)
        #expect(refusal(yaml, flags: [.socketGroup: "no-such-group-pw"]) == #"daemon: --socket-group: no group "no-such-group-pw" on this host"#)
        // A bad file is refused before any flag is looked at.
        #expect(refusal("keep: 14x", flags: [.keep: "1d"]) == #"daemon: FILE: keep: "14x" is not a duration (examples: 14d, 36h, 90m)"#)
    }

    @Test func relativeFlagPathsAreMadeAbsolute() throws {
        let directory = FileManager.default.currentDirectoryPath
        let settings = try load("", flags: [.stateDir: "pw-state", .socket: "pw.sock"])
        #expect(settings.stateDirectory == (directory == "/" ? "" : directory) + "/pw-state")
        #expect(settings.socketPath == (directory == "/" ? "" : directory) + "/pw.sock")
    }

    @Test func aMissingFileIsRefusedOnlyWhenNamed() throws {
        let missing = "/tmp/procwatch-daemon-missing-\(getpid()).yaml"
        #expect(throws: DaemonConfigurationError(origin: missing, problem: "cannot read: No such file or directory")) {
            try DaemonConfiguration.load(path: missing)
        }
        // The default file is read only when it exists.
        let configuration = try DaemonConfiguration.load(path: missing, explicit: false, flags: [.keep: "1d"])
        #expect(configuration.settings.keep == .seconds(86_400))
        #expect(configuration.pathIsExplicit == false)
        #expect(throws: DaemonConfigurationError(origin: "/tmp", problem: "not a regular file")) {
            try DaemonConfiguration.load(path: "/tmp")
        }
        let binary = Self.write("keep: \u{FF}")
        defer { unlink(binary) }
        let bytes: [UInt8] = Array("keep: ".utf8) + [0xFF, 0xFE]
        _ = FileManager.default.createFile(atPath: binary, contents: Data(bytes))
        #expect(throws: DaemonConfigurationError(origin: binary, problem: "not UTF-8 text")) {
            try DaemonConfiguration.load(path: binary)
        }
    }

    @Test func aReloadReadsTheFileAgainAndNamesWhatWaitsForARestart() throws {
        let path = Self.write("keep: 14d\nsocket: /run/a.sock\nevents: exec\nmetrics: 127.0.0.1:9464\n")
        defer { unlink(path) }
        let configuration = try DaemonConfiguration.load(path: path, flags: [.source: "connector"])
        _ = FileManager.default.createFile(atPath: path, contents: Data("keep: 7d\nsocket: /run/b.sock\nevents: exec,exit\nsource: bpf\nmetrics: 127.0.0.1:9464\n".utf8))
        let reloaded = try configuration.reloaded()
        #expect(reloaded.settings.keep == .seconds(604_800))
        #expect(reloaded.settings.socketPath == "/run/b.sock")
        #expect(reloaded.settings.source == .connector)  // the flag still wins
        let old = configuration.settings
        #expect(old.changedKeys(in: reloaded.settings) == [.socket, .keep, .events])
        #expect(old.keysNeedingRestart(toApply: reloaded.settings) == [.socket])
        #expect(DaemonConfiguration.reloadLine(path: path, from: old, to: reloaded.settings)
                == "reloaded \(path): keep, events applied; socket changed, takes effect at the next restart")
        #expect(DaemonConfiguration.reloadLine(path: path, from: old, to: old) == "reloaded \(path): nothing changed")
        var moved = old
        moved.stateDirectory = "/srv"
        moved.metricsAddress = nil
        moved.topPrograms = 3
        moved.clientQueue = 64
        #expect(DaemonConfiguration.reloadLine(path: path, from: old, to: moved)
                == "reloaded \(path): client_queue applied; state_dir, metrics, top_programs changed, take effect at the next restart")
        // A bad file at reload is refused like at start (the daemon keeps its settings).
        _ = FileManager.default.createFile(atPath: path, contents: Data("keep: soon\n".utf8))
        #expect(throws: DaemonConfigurationError(origin: path, key: "keep", problem: #""soon" is not a duration (examples: 14d, 36h, 90m)"#)) {
            try configuration.reloaded()
        }
    }

    @Test func restartKeysAreTheOpenedOnes() {
        #expect(DaemonSettingKey.allCases.filter(\.needsRestart) == [.stateDir, .socket, .socketMode, .socketGroup, .metrics, .source, .topPrograms,
                                                                     .sink, .spoolMemory, .spoolMax])
    }

    /// The fleet sink's keys, and the two places a password must not be.
    @Test func sinkKeysAndWhereAPasswordMayBe() throws {
        let settings = try load("sink: postgresql://pw@db.example/fleet\nspool_memory: 8MiB\nspool_max: 2GiB\n")
        #expect(settings.sink == "postgresql://pw@db.example/fleet")
        #expect(settings.spoolMemory == 8 << 20)
        #expect(settings.spoolMax == 2 << 30)
        #expect(refusal("sink: mysql://db/x\n").hasPrefix("daemon: FILE: sink: bad PostgreSQL connection string mysql://db/x"))
        // A password in a file others may read (the test files are 0644).
        #expect(refusal("sink: postgresql://pw:secret@db.example/fleet\n")
                == "daemon: FILE: sink: FILE holds a PostgreSQL password but its mode is 0644: make it 0600 (chmod 600 FILE)")
        let path = Self.write("sink: postgresql://pw:secret@db.example/fleet\n")
        defer { unlink(path) }
        chmod(path, 0o600)
        #expect(try DaemonConfiguration.load(path: path).settings.sink == "postgresql://pw:secret@db.example/fleet")
        #expect(refusal("", flags: [.sink: "postgresql://pw:secret@db.example/fleet"])
                == "daemon: --sink: postgresql://pw@db.example:5432/fleet: a password on the command line is visible to every user in ps;"
                + " use PGPASSWORD, ~/.pgpass or the daemon's configuration file (mode 0600)")
    }

    /// The example file: all commented out it gives the defaults; with each key's line
    /// uncommented it gives the values it documents as defaults (and the group and metrics
    /// address it shows as examples).
    @Test func theExampleConfigurationDocumentsTheDefaults() throws {
        let example = try String(contentsOfFile: PackagingTests.root + "/contrib/daemon.yaml", encoding: .utf8)
        #expect(try load(example) == DaemonSettings())
        let uncommented = example.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            DaemonSettingKey.allCases.contains { line.hasPrefix("# \($0.rawValue): ") } ? String(line.dropFirst(2)) : String(line)
        }.joined(separator: "\n")
        var expected = DaemonSettings()
        expected.socketGroup = "adm"
        expected.metricsAddress = "127.0.0.1:9464"
        expected.sink = "postgresql://procwatch@db.example.com/procwatch?sslmode=verify-full"
        #expect(try load(uncommented) == expected)
        #expect(uncommented.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }.count == DaemonSettingKey.allCases.count)
    }
}
