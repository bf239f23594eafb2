import ProcWatchFleet
#if canImport(Glibc)
import Glibc
#endif

/// Where the daemon's settings come from — a YAML file and the command line's flags — and
/// the settings they make: the defaults, then the file's values, then the flags' (the
/// command line wins). Kept by the daemon so that SIGHUP can read the same file again and
/// apply the same flags over it (``reloaded()``).
public struct DaemonConfiguration: Sendable {
    /// The file read when `--config` names none, and only if it exists.
    public static let defaultPath = "/etc/procwatch/daemon.yaml"

    /// The file read (or looked for, when it is the default and may be missing).
    public let path: String
    /// Whether the user named the file (`--config`): then it must exist.
    public let pathIsExplicit: Bool
    /// The flags given, by the key they set, as typed (relative paths made absolute).
    public let flags: [DaemonSettingKey: String]
    /// The settings made of the defaults, the file and the flags.
    public let settings: DaemonSettings

    /// Reads the file at `path` (or the default file, if it exists) and applies `flags`
    /// over it. Throws the first problem, with the file or flag it is in.
    public static func load(path: String? = nil, flags: [DaemonSettingKey: String] = [:]) throws(DaemonConfigurationError) -> DaemonConfiguration {
        try load(path: path.map(absolute) ?? defaultPath, explicit: path != nil, flags: flags)
    }

    /// The same file read again and the same flags applied over it: the settings a reload
    /// (SIGHUP) asks for. Compare them to the running ones with
    /// ``DaemonSettings/keysNeedingRestart(toApply:)``.
    public func reloaded() throws(DaemonConfigurationError) -> DaemonConfiguration {
        try Self.load(path: path, explicit: pathIsExplicit, flags: flags)
    }

    private init(path: String, pathIsExplicit: Bool, flags: [DaemonSettingKey: String], settings: DaemonSettings) {
        self.path = path
        self.pathIsExplicit = pathIsExplicit
        self.flags = flags
        self.settings = settings
    }

    static func load(path: String, explicit: Bool, flags: [DaemonSettingKey: String]) throws(DaemonConfigurationError) -> DaemonConfiguration {
        var settings = DaemonSettings()
        if let yaml = try DaemonConfigurationFile.read(path: path, mustExist: explicit) {
            for (key, text) in try DaemonConfigurationFile.values(in: yaml, origin: path) {
                do { try settings.set(key, from: text) } catch {
                    throw DaemonConfigurationError(origin: path, key: key.rawValue, problem: error.text)
                }
                if key == .sink { try DaemonConfigurationFile.checkPassword(in: text, path: path) }
            }
        }
        var typed: [DaemonSettingKey: String] = [:]
        // In the order of the keys, so the first bad flag reported does not depend on hashing.
        for key in DaemonSettingKey.allCases {
            guard var text = flags[key] else { continue }
            if key == .stateDir || key == .socket { text = absolute(text) }
            do { try settings.set(key, from: text) } catch {
                throw DaemonConfigurationError(origin: key.flag ?? key.rawValue, problem: error.text)
            }
            if key == .sink, let url = try? FleetURL(parsing: text), url.password != nil {
                throw DaemonConfigurationError(origin: "--sink", problem: FleetError.passwordOnCommandLine(server: url.redacted).description)
            }
            typed[key] = text
        }
        return DaemonConfiguration(path: path, pathIsExplicit: explicit, flags: typed, settings: settings)
    }

    /// A path typed on the command line, made absolute against the working directory: the
    /// settings hold absolute paths only (the file must give them so), and a reload reads
    /// the same file whatever the directory is by then.
    private static func absolute(_ path: String) -> String {
        guard !path.hasPrefix("/"), !path.isEmpty, let directory = getcwd(nil, 0) else { return path }
        defer { free(directory) }
        let base = String(cString: directory)
        return (base == "/" ? "" : base) + "/" + path
    }

    /// The daemon's one log line after a reload: what changed, and what of it waits for a
    /// restart, e.g. `reloaded /etc/procwatch/daemon.yaml: keep, events applied; socket
    /// changed, takes effect at the next restart`.
    public static func reloadLine(path: String, from old: DaemonSettings, to new: DaemonSettings) -> String {
        let changed = old.changedKeys(in: new)
        let waiting = old.keysNeedingRestart(toApply: new)
        let applied = changed.filter { !waiting.contains($0) }
        var parts: [String] = []
        if !applied.isEmpty { parts.append(applied.map(\.rawValue).joined(separator: ", ") + " applied") }
        if !waiting.isEmpty {
            parts.append(waiting.map(\.rawValue).joined(separator: ", ") + (waiting.count == 1 ? " changed, takes" : " changed, take")
                         + " effect at the next restart")
        }
        return "reloaded \(path): " + (parts.isEmpty ? "nothing changed" : parts.joined(separator: "; "))
    }
}
