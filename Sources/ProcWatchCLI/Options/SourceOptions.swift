import ArgumentParser
import ProcWatch
#if canImport(Glibc)
import Glibc
#endif

/// `--source bpf|connector|auto`: where a command that watches (the live view, `stats`,
/// `run`, `jobs`, `record`) takes its events from. A root option, like `-D`, so it is
/// accepted before and after the subcommand; `report`, which watches nothing, refuses it.
package struct SourceOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Where events come from: bpf (the kernel-side eBPF watchers: full command lines, failed execs, exit accounting), connector (the kernel's process events connector), procfs (scans of /proc, where the kernel refuses both: a user namespace), or auto (bpf when its programs load and attach, else the connector, else procfs; procwatch says which in one line). Example: --source connector",
        valueName: "SOURCE"))
    package var source: ProcessEventSource.Backend?

    // A bare `--connect` (no socket) is given the default before parsing: see ``withDefaultSocket(_:subcommands:)``.
    @Option(name: .long, help: ArgumentHelp(
        "Take events from procwatch daemon through its socket (default: /run/procwatch/procwatch.sock, or $PROCWATCH_SOCKET) instead of subscribing to the kernel; a user who is not root sees their own processes. Example: procwatch --connect -e exec",
        valueName: "SOCKET"))
    package var connect: String?

    package init() {}

    package func validate() throws {
        if connect != nil, source != nil {
            throw ValidationError("--connect and --source cannot be combined: the daemon has its own source")
        }
    }

    /// The daemon's socket when no path is given: `$PROCWATCH_SOCKET`, else the daemon's default.
    /// Whether procwatch's own /proc scanner may stand in under `auto` when the kernel
    /// refuses every source: not when the default daemon's socket is there (and neither
    /// `--source` nor `--connect` chose), which serves the whole host better.
    package var scannerMayStandIn: Bool {
        source != nil || connect != nil || !DaemonRequest(path: Self.defaultSocket, selection: DaemonSelection()).socketExists
    }

    package static var defaultSocket: String {
        if let path = getenv("PROCWATCH_SOCKET"), path.pointee != 0 { return String(cString: path) }
        return "/run/procwatch/procwatch.sock"
    }

    /// The arguments with a bare `--connect` (last, or followed by an option or a subcommand
    /// name) written `--connect=DEFAULT`: the parser has no options whose value may be left
    /// out. Arguments after `--` (a command's) are left alone.
    package static func withDefaultSocket(_ arguments: [String], subcommands: Set<String>) -> [String] {
        var result: [String] = []
        for (index, argument) in arguments.enumerated() {
            if argument == "--" {
                result += arguments[index...]
                break
            }
            let next = index + 1 < arguments.count ? arguments[index + 1] : nil
            if argument == "--connect", next.map({ $0.hasPrefix("-") || subcommands.contains($0) }) ?? true {
                result.append("--connect=\(defaultSocket)")
            } else {
                result.append(argument)
            }
        }
        return result
    }

    /// The backend the choice asks the library for (`auto` when none was given).
    package var backend: ProcessEventSource.Backend {
        switch source ?? .auto {
        case .auto: Self.automatic
        case .bpf: .bpf
        case .connector: .connector
        case .procfs: .procfs
        }
    }

    /// What `auto` asks of the library: the library decides (the kernel-side watchers when
    /// they load and attach, else the connector) and says why through ``SourceAnnouncement``.
    static let automatic: ProcessEventSource.Backend = .auto
}

// The library's enum is the one list of backends: its raw values are the option's values,
// and CaseIterable makes a bad value's error list them.
extension ProcessEventSource.Backend: ExpressibleByArgument {}
