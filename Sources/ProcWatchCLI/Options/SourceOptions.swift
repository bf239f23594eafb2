import ArgumentParser
import ProcWatch

/// `--source bpf|connector|auto`: where a command that watches (the live view, `stats`,
/// `run`, `jobs`, `record`) takes its events from. A root option, like `-D`, so it is
/// accepted before and after the subcommand; `report`, which watches nothing, refuses it.
package struct SourceOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Where events come from: bpf (the kernel-side eBPF watchers: full command lines, failed execs, exit accounting), connector (the kernel's process events connector), or auto (bpf when its programs load and attach, else the connector). Example: --source connector",
        valueName: "SOURCE"))
    package var source: ProcessEventSource.Backend?

    package init() {}

    /// The backend the choice asks the library for (`auto` when none was given).
    package var backend: ProcessEventSource.Backend {
        switch source ?? .auto {
        case .auto: Self.automatic
        case .bpf: .bpf
        case .connector: .connector
        }
    }

    /// What `auto` asks of the library: the library decides (the kernel-side watchers when
    /// they load and attach, else the connector) and says why through ``SourceAnnouncement``.
    static let automatic: ProcessEventSource.Backend = .auto
}

// The library's enum is the one list of backends: its raw values are the option's values,
// and CaseIterable makes a bad value's error list them.
extension ProcessEventSource.Backend: ExpressibleByArgument {}
