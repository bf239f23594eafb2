/// A configuration the daemon refuses: one line naming where it came from (the file or the
/// flag), the key, and the problem, e.g. `daemon: /etc/procwatch/daemon.yaml: keep: "14x"
/// is not a duration (examples: 14d, 36h, 90m)`. The daemon prints it after `procwatch: `
/// and exits with ``exitStatus``.
public struct DaemonConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file (its path) or the flag (`--keep`) the value came from.
    public var origin: String
    /// The key concerned, or nil when the problem is the file's as a whole (it cannot be
    /// read, it is not YAML).
    public var key: String?
    /// What is wrong, for a person to read.
    public var problem: String

    /// Creates the error for `problem` in `key` of `origin`.
    public init(origin: String, key: String? = nil, problem: String) {
        self.origin = origin
        self.key = key
        self.problem = problem
    }

    /// EX_USAGE (sysexits.h), the status of every configuration error, as of a bad flag
    /// (swift-argument-parser exits with it too), so a unit can refuse to restart on it.
    public static let exitStatus: Int32 = 64

    /// The one line, without the leading `procwatch: `.
    public var description: String {
        "daemon: \(origin): " + (key.map { "\($0): " } ?? "") + problem
    }
}

/// What is wrong with one value, before it is known whether the file or a flag gave it.
struct SettingValueProblem: Error, Equatable {
    var text: String
    init(_ text: String) { self.text = text }
}
