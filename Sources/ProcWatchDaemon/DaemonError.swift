/// Why the daemon could not start or had to stop: one line each, and the exit status
/// `procwatch daemon` ends with (sysexits(3)).
public enum DaemonError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A setting is wrong (the configuration file or a flag), or a place it names is taken:
    /// the socket path held by another process, the metrics port in use.
    case usage(String)
    /// The state directory or its history file cannot be created or written.
    case cannotCreate(String)
    /// The kernel refused every event source.
    case sourceUnavailable(String)
    /// The event source failed while running.
    case sourceFailed(String)
    /// The fleet store (`sink`) refused the daemon in a way waiting will not mend: a wrong
    /// password, no such database, another program's database, a newer schema, TLS.
    case sinkUnusable(String)

    /// The one line that says what went wrong.
    public var description: String {
        switch self {
        case .usage(let line), .cannotCreate(let line), .sourceUnavailable(let line), .sourceFailed(let line), .sinkUnusable(let line): line
        }
    }

    /// The exit status: 64 (EX_USAGE) for settings, 73 (EX_CANTCREAT) for the state
    /// directory, 69 (EX_UNAVAILABLE) when no source starts or the sink refuses, 70 (EX_SOFTWARE) when it fails.
    public var exitStatus: Int32 {
        switch self {
        case .usage: 64
        case .cannotCreate: 73
        case .sourceUnavailable, .sinkUnusable: 69
        case .sourceFailed: 70
        }
    }
}
