import ProcWatch
import ProcWatchStore

/// What one run of the daemon uses: where its history, socket and metrics live. Filled from
/// the configuration file and the command line (the command line wins).
public struct DaemonSettings: Sendable, Equatable {
    /// Where the history (`history.db`) is kept. Default `/var/lib/procwatch`.
    public var stateDirectory: String = "/var/lib/procwatch"
    /// The clients' Unix socket. Default `/run/procwatch/procwatch.sock`.
    public var socketPath: String = "/run/procwatch/procwatch.sock"
    /// The Prometheus endpoint's `ADDRESS:PORT`, or nil for none.
    public var metricsAddress: String? = nil
    /// Where events come from.
    public var backend: ProcessEventSource.Backend = .auto
    /// How long and how large the history may grow (14 days, 2 GiB).
    public var retention = RetentionPolicy(keep: .seconds(14 * 86_400), maxBytes: 2 << 30)

    public init() {}
}
