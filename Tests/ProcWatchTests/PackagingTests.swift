import Foundation
import Glibc
import Testing
@testable import ProcWatchCLI

/// `procwatch --version`, and the Debian package of scripts/package installed, used and
/// removed as a user would.
@Suite("Version and Debian package", .serialized)
struct PackagingTests {
    /// The checkout the tests were built from.
    static let root = "/" + #filePath.split(separator: "/").dropLast(3).joined(separator: "/")

    /// The git revision of the checkout, as the BuildRevision plugin writes it.
    static func checkoutRevision() throws -> String {
        let head = try Spawn.capture(["git", "-C", root, "rev-parse", "--short=12", "HEAD"])
        guard head.status == 0 else { return "unknown" }
        let clean = try Spawn.capture(["git", "-C", root, "diff", "--quiet", "HEAD", "--"])
        return head.stdout.trimmingCharacters(in: .whitespacesAndNewlines) + (clean.status == 0 ? "" : "-dirty")
    }

    @Test func versionNamesTheReleaseAndTheRevisionBuilt() throws {
        #expect(ProcWatchVersion.description == "procwatch \(ProcWatchVersion.number) (git \(buildRevision))")
        #expect(buildRevision == (try Self.checkoutRevision()))
        let directory = Spawn.procwatchBinary.split(separator: "/").dropLast().joined(separator: "/")
        for binary in ["procwatch", "procwatch-store"] {
            let run = try Spawn.capture(["/" + directory + "/" + binary, "--version"])
            #expect(run.status == 0)
            #expect(run.stdout == ProcWatchVersion.description + "\n")
            #expect(run.stderr == "")
        }
    }

    /// The package scripts/package built (scripts/test builds it and names it in
    /// PROCWATCH_DEB); installing it needs root.
    static var package: String? { getenv("PROCWATCH_DEB").map { String(cString: $0) } }

    @Test(.enabled(if: getuid() == 0 && PackagingTests.package != nil, "needs root and PROCWATCH_DEB (scripts/test sets both)"))
    func theDebianPackageInstallsRunsAndRemoves() throws {
        let deb = try #require(Self.package)
        let before = try Spawn.capture(["dpkg-query", "-W", "-f=${Status}", "procwatch"])
        try #require(!before.stdout.contains(" installed"), "a procwatch package is installed already: this test would remove it")
        let install = try Spawn.capture(["dpkg", "-i", deb])
        try #require(install.status == 0, "\(install.stdout)\(install.stderr)")
        var removed = false
        defer { if !removed { _ = try? Spawn.capture(["dpkg", "-P", "procwatch"]) } }

        let files = try Spawn.capture(["dpkg-query", "-L", "procwatch"]).stdout.split(separator: "\n").map(String.init)
        let manual = ["", ".daemon", ".history", ".jobs", ".record", ".report", ".run", ".stats"].map { "/usr/share/man/man1/procwatch\($0).1.gz" }
        for path in ["/usr/bin/procwatch", "/usr/bin/procwatch-store", "/usr/share/bash-completion/completions/procwatch",
                     "/usr/share/zsh/vendor-completions/_procwatch", "/usr/share/fish/vendor_completions.d/procwatch.fish",
                     "/usr/share/doc/procwatch/README.md.gz", "/usr/share/doc/procwatch/events.md.gz",
                     "/lib/systemd/system/procwatch.service", "/etc/procwatch/daemon.yaml"] + manual {
            #expect(files.contains(path), "\(path) not in the package")
            #expect(access(path, R_OK) == 0, "\(path) not installed")
        }
        // The daemon's unit and configuration, as shipped: the example is a conffile, and the
        // installed unit passes systemd-analyze as it is (its ExecStart and man page exist now).
        #expect(try Spawn.capture(["cmp", "/lib/systemd/system/procwatch.service", Self.root + "/contrib/procwatch.service"]).status == 0)
        #expect(try Spawn.capture(["cmp", "/etc/procwatch/daemon.yaml", Self.root + "/contrib/daemon.yaml"]).status == 0)
        let conffiles = try Spawn.capture(["dpkg-query", "-W", "-f=${Conffiles}", "procwatch"]).stdout
        #expect(conffiles.split(separator: "\n").map { $0.split(separator: " ").first.map(String.init) } == ["/etc/procwatch/daemon.yaml"], "\(conffiles)")
        if access("/usr/bin/systemd-analyze", X_OK) == 0 {
            let verify = try Spawn.capture(["/usr/bin/systemd-analyze", "verify", "/lib/systemd/system/procwatch.service"])
            #expect(verify.status == 0 && verify.stdout == "" && verify.stderr == "", "\(verify.stdout)\(verify.stderr)")
        }
        // Installed, not enabled, not started.
        #expect(access("/etc/systemd/system/multi-user.target.wants/procwatch.service", F_OK) != 0)

        // The Swift runtime and Foundation are inside the binaries: no toolchain needed.
        for binary in ["/usr/bin/procwatch", "/usr/bin/procwatch-store"] {
            let libraries = try Spawn.capture(["ldd", binary]).stdout
            #expect(!libraries.contains("libswift") && !libraries.contains("libFoundation") && !libraries.contains("libdispatch"),
                    "\(binary) links \(libraries)")
        }
        let version = try Spawn.capture(["/usr/bin/procwatch", "--version"])
        #expect(version.stdout == "procwatch \(ProcWatchVersion.number) (git \(try Self.checkoutRevision()))\n")
        let control = try Spawn.capture(["dpkg-query", "-W", "-f=${Version} ${Depends}", "procwatch"]).stdout
        #expect(control.hasPrefix("\(ProcWatchVersion.number) "))
        #expect(control.contains("libsqlite3-0"))

        // A short live view from the installed binary: the exit of a child started once it listens.
        var child: Int32 = 0
        let live = try Spawn.capture(["/usr/bin/procwatch", "--json", "-e", "exec,exit", "-D", "10"], primed: true) { pid in
            child = try Spawn.run(["/bin/sh", "-c", "exit 7"]).pid
            usleep(200_000)
            kill(pid, SIGINT)
        }
        #expect(live.status == 0, "\(live.stderr)")
        #expect(live.stdout.split(separator: "\n").contains {
            $0.hasPrefix("{\"event\":\"exit\"") && $0.contains("\"pid\":\(child),\"tid\":\(child),") && $0.contains("\"status\":{\"exited\":7}")
        }, "\(live.stdout.suffix(2000))")
        // record and report run in the installed procwatch-store.
        let path = StoreWorkload.temporaryPath("package.db")
        defer { StoreWorkload.remove(path) }
        let record = try Spawn.capture(["/usr/bin/procwatch", "record", "-o", path, "--", "/bin/sh", "-c", "exit 3"])
        #expect(record.status >> 8 == 3, "\(record.stderr)")
        let report = try Spawn.capture(["/usr/bin/procwatch", "report", path])
        #expect(report.status == 0)
        #expect(report.stdout.hasPrefix("procwatch report: \(path)\n"))

        let remove = try Spawn.capture(["dpkg", "-r", "procwatch"])
        removed = true
        #expect(remove.status == 0, "\(remove.stderr)")
        for path in ["/usr/bin/procwatch", "/usr/bin/procwatch-store", "/lib/systemd/system/procwatch.service"] + manual {
            #expect(access(path, F_OK) != 0, "\(path) left behind")
        }
        // A conffile stays after removal (the administrator's edits), and goes on purge.
        #expect(access("/etc/procwatch/daemon.yaml", F_OK) == 0)
        let purge = try Spawn.capture(["dpkg", "-P", "procwatch"])
        #expect(purge.status == 0, "\(purge.stderr)")
        #expect(access("/etc/procwatch/daemon.yaml", F_OK) != 0)
        #expect(access("/etc/procwatch", F_OK) != 0)
    }
}
