import ProcWatch
import ProcWatchCLI

/// What one run of the daemon uses: where its history, socket and metrics live, what it
/// records and keeps, and how much it holds per client. Filled from the configuration file
/// and the command line (the command line wins) by ``DaemonConfiguration``; each property
/// is one key of ``DaemonSettingKey``, whose documentation says which take effect on reload.
public struct DaemonSettings: Sendable, Equatable {
    /// Where the history (`history.db`) is kept. Default `/var/lib/procwatch`.
    public var stateDirectory: String = "/var/lib/procwatch"
    /// The clients' Unix socket. Default `/run/procwatch/procwatch.sock`.
    public var socketPath: String = "/run/procwatch/procwatch.sock"
    /// The socket's permission bits (at most 0o777). Default 0o666: every user may connect,
    /// and sees only their own processes unless root or in ``socketGroup``.
    public var socketMode: UInt32 = 0o666
    /// The socket's group, a name or a number; its members see every event. Nil (the
    /// default): the socket keeps root's group and only root sees everything.
    public var socketGroup: String? = nil
    /// The Prometheus endpoint's `ADDRESS:PORT` as written, checked (see
    /// ``metricsEndpoint``), or nil for none (the default).
    public var metricsAddress: String? = nil
    /// How long the history keeps an event: rows older than this are pruned. Nil: forever.
    /// Default 14 days.
    public var keep: Duration? = .seconds(14 * 86_400)
    /// How large the history may grow, in bytes, before its oldest rows are pruned. Nil:
    /// unbounded. Default 2 GiB.
    public var maxSize: Int64? = 2 << 30
    /// Where events come from: the library's backends, `auto` by default.
    public var source: ProcessEventSource.Backend = .auto
    /// The kinds recorded, as `procwatch -e` names them. Default: every kind.
    package var events: EventSelection = .all
    /// How many events each client's queue holds before the client is sent a `lost`
    /// event (reason `backlog`). Default 8192.
    public var clientQueue: Int = 8192
    /// How many programs get their own exec counter in the metrics (the rest count as
    /// `other`): the bound on the metric's cardinality. Default 20.
    public var topPrograms: Int = 20
    /// The fleet store the daemon also writes its events to (a PostgreSQL connection string,
    /// checked), or nil for none (the default). The local history is kept either way.
    public var sink: String? = nil
    /// How many bytes of batches the sink holds in memory while its server is away. Default 64 MiB.
    public var spoolMemory: Int64 = 64 << 20
    /// How many bytes of batches it holds in spool files (`<state_dir>/spool`) past that;
    /// 0: none. Default 1 GiB.
    public var spoolMax: Int64 = 1 << 30

    /// The defaults.
    public init() {}

    /// ``metricsAddress`` split into host and port (nil when metrics are off). Settings that
    /// came through ``DaemonConfiguration`` are checked already, so it is nil only then.
    public var metricsEndpoint: MetricsAddress? {
        metricsAddress.flatMap { try? MetricsAddress(parsing: $0) }
    }

    /// The keys whose values differ between `self` (the running settings) and `new` (the
    /// reloaded ones) and that take effect only at a restart, in the order of
    /// ``DaemonSettingKey/allCases``: what the daemon names in its one reload line.
    public func keysNeedingRestart(toApply new: DaemonSettings) -> [DaemonSettingKey] {
        DaemonSettingKey.allCases.filter { $0.needsRestart && !$0.hasSameValue(in: self, and: new) }
    }

    /// These settings with every value a running daemon can change taken from `new` (the
    /// ones that need a restart stay): what a reload puts in effect.
    public func applyingReloadable(from new: DaemonSettings) -> DaemonSettings {
        var applied = self
        for key in DaemonSettingKey.allCases where !key.needsRestart { key.copy(from: new, into: &applied) }
        return applied
    }

    /// The keys whose values differ between `self` and `new`, in the order of
    /// ``DaemonSettingKey/allCases``.
    public func changedKeys(in new: DaemonSettings) -> [DaemonSettingKey] {
        DaemonSettingKey.allCases.filter { !$0.hasSameValue(in: self, and: new) }
    }
}
