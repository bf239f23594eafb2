/// One setting of the daemon: its key in the configuration file, its command-line flag,
/// and whether a reload (SIGHUP) applies it or only a restart does.
public enum DaemonSettingKey: String, Sendable, CaseIterable, CustomStringConvertible {
    /// ``DaemonSettings/stateDirectory``: an absolute path.
    case stateDir = "state_dir"
    /// ``DaemonSettings/socketPath``: an absolute path of at most 107 bytes.
    case socket
    /// ``DaemonSettings/socketMode``: octal permission bits, `"0660"`.
    case socketMode = "socket_mode"
    /// ``DaemonSettings/socketGroup``: a group name or number that exists.
    case socketGroup = "socket_group"
    /// ``DaemonSettings/metricsAddress``: `ADDRESS:PORT`.
    case metrics
    /// ``DaemonSettings/keep``: `14d`, `36h`, `90m`; `0` forever.
    case keep
    /// ``DaemonSettings/maxSize``: `2GiB`, `500MB`; `0` unbounded.
    case maxSize = "max_size"
    /// ``DaemonSettings/source``: `auto`, `bpf`, `connector` or `procfs`.
    case source
    /// ``DaemonSettings/events``: `-e` names, a list or comma-separated.
    case events
    /// ``DaemonSettings/clientQueue``: 1 to 1048576 events.
    case clientQueue = "client_queue"
    /// ``DaemonSettings/topPrograms``: 0 to 1000 programs.
    case topPrograms = "top_programs"
    /// ``DaemonSettings/sink``: a `postgresql://` URL or libpq key=value string.
    case sink
    /// ``DaemonSettings/spoolMemory``: `64MiB`.
    case spoolMemory = "spool_memory"
    /// ``DaemonSettings/spoolMax``: `1GiB`.
    case spoolMax = "spool_max"

    /// The key as the file spells it.
    public var description: String { rawValue }

    /// The `procwatch daemon` flag that sets it, or nil where only the file does.
    public var flag: String? {
        switch self {
        case .stateDir: "--state-dir"
        case .socket: "--socket"
        case .socketGroup: "--socket-group"
        case .metrics: "--metrics"
        case .keep: "--keep"
        case .maxSize: "--max-size"
        case .source: "--source"
        case .events: "--events"
        case .sink: "--sink"
        case .socketMode, .clientQueue, .topPrograms, .spoolMemory, .spoolMax: nil
        }
    }

    /// Whether a changed value waits for a restart. What the daemon opened at start (its
    /// history file, its socket with that mode and group, the metrics listener, the kernel
    /// source) stays open across a reload, so those keys do; retention, the kinds recorded,
    /// the queue size of new clients and the top-N bound are read again on SIGHUP.
    public var needsRestart: Bool {
        switch self {
        // The program series of the metrics are made for good (counters never vanish):
        // how many there may be is fixed for the daemon's life.
        case .stateDir, .socket, .socketMode, .socketGroup, .metrics, .source, .topPrograms: true
        // The sink's connection and spool are made at start.
        case .sink, .spoolMemory, .spoolMax: true
        case .keep, .maxSize, .events, .clientQueue: false
        }
    }

    /// Whether the setting this key names is the same in both.
    func hasSameValue(in old: DaemonSettings, and new: DaemonSettings) -> Bool {
        switch self {
        case .stateDir: old.stateDirectory == new.stateDirectory
        case .socket: old.socketPath == new.socketPath
        case .socketMode: old.socketMode == new.socketMode
        case .socketGroup: old.socketGroup == new.socketGroup
        case .metrics: old.metricsAddress == new.metricsAddress
        case .keep: old.keep == new.keep
        case .maxSize: old.maxSize == new.maxSize
        case .source: old.source == new.source
        case .events: old.events == new.events
        case .clientQueue: old.clientQueue == new.clientQueue
        case .topPrograms: old.topPrograms == new.topPrograms
        case .sink: old.sink == new.sink
        case .spoolMemory: old.spoolMemory == new.spoolMemory
        case .spoolMax: old.spoolMax == new.spoolMax
        }
    }

    /// Sets the setting this key names in `settings` to its value in `source`.
    func copy(from source: DaemonSettings, into settings: inout DaemonSettings) {
        switch self {
        case .stateDir: settings.stateDirectory = source.stateDirectory
        case .socket: settings.socketPath = source.socketPath
        case .socketMode: settings.socketMode = source.socketMode
        case .socketGroup: settings.socketGroup = source.socketGroup
        case .metrics: settings.metricsAddress = source.metricsAddress
        case .keep: settings.keep = source.keep
        case .maxSize: settings.maxSize = source.maxSize
        case .source: settings.source = source.source
        case .events: settings.events = source.events
        case .clientQueue: settings.clientQueue = source.clientQueue
        case .topPrograms: settings.topPrograms = source.topPrograms
        case .sink: settings.sink = source.sink
        case .spoolMemory: settings.spoolMemory = source.spoolMemory
        case .spoolMax: settings.spoolMax = source.spoolMax
        }
    }

    /// The known key nearest to an unknown one (a flag's spelling, a typo of one or two
    /// letters), for the error that refuses it; nil when none is near.
    static func nearest(to unknown: String) -> DaemonSettingKey? {
        let spelled = unknown.lowercased().replacingDashes()
        if let exact = DaemonSettingKey(rawValue: spelled) { return exact }
        if let byFlag = allCases.first(where: { $0.flag == "--" + unknown }) { return byFlag }
        let scored = allCases.map { ($0, editDistance(Array(spelled), Array($0.rawValue))) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= 2 else { return nil }
        return best.0
    }
}

/// Levenshtein distance: the number of one-character edits from `a` to `b`.
private func editDistance(_ a: [Character], _ b: [Character]) -> Int {
    var previous = Array(0...b.count)
    for (i, x) in a.enumerated() {
        var current = [i + 1] + Array(repeating: 0, count: b.count)
        for (j, y) in b.enumerated() {
            current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}

extension String {
    fileprivate func replacingDashes() -> String { String(map { $0 == "-" ? "_" : $0 }) }
}
