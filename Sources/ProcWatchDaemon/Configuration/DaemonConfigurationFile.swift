import ProcWatchFleet
import Yams
#if canImport(Glibc)
import Glibc
#endif

/// The YAML configuration file: one mapping of snake_case keys (``DaemonSettingKey``) to
/// scalars (`events` also takes a list). Read as text, never decoded into types by Yams, so
/// that every refusal names the key and the problem in the daemon's own words.
enum DaemonConfigurationFile {
    /// The largest file read: anything longer is no configuration file.
    static let maximumBytes = 1 << 20

    /// The file's values as text, in the file's order: what ``DaemonSettings/set(_:from:)``
    /// takes. An empty file (or all comments) has none.
    static func values(in yaml: String, origin: String) throws(DaemonConfigurationError) -> [(key: DaemonSettingKey, text: String)] {
        func refuse(_ problem: String, key: String? = nil) -> DaemonConfigurationError {
            DaemonConfigurationError(origin: origin, key: key, problem: problem)
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw refuse(syntaxProblem(error))
        }
        guard let root else { return [] }
        guard case .mapping(let mapping) = root else {
            throw refuse("expected \"key: value\" lines, found \(kind(of: root))")
        }
        var values: [(key: DaemonSettingKey, text: String)] = []
        // Yams refuses a key given twice itself (see ``syntaxProblem(_:)``).
        for (keyNode, valueNode) in mapping {
            let line = keyNode.mark?.line ?? 0
            guard case .scalar(let keyScalar) = keyNode else { throw refuse("line \(line): a key must be a name, not \(kind(of: keyNode))") }
            let name = keyScalar.string
            guard let key = DaemonSettingKey(rawValue: name) else {
                let hint = DaemonSettingKey.nearest(to: name).map { "did you mean \($0)?" }
                    ?? "known: " + DaemonSettingKey.allCases.map(\.rawValue).joined(separator: ", ")
                throw refuse("unknown key (\(hint))", key: name)
            }
            values.append((key, try text(of: valueNode, for: key, origin: origin)))
        }
        return values
    }

    /// The value's text: a scalar as written, or for `events` a list joined with commas.
    private static func text(of node: Node, for key: DaemonSettingKey, origin: String) throws(DaemonConfigurationError) -> String {
        func refuse(_ problem: String) -> DaemonConfigurationError {
            DaemonConfigurationError(origin: origin, key: key.rawValue, problem: problem)
        }
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain, ["", "~", "null", "Null", "NULL"].contains(scalar.string) {
                throw refuse("has no value (leave the key out for the default)")
            }
            return scalar.string
        case .sequence(let sequence) where key == .events:
            var names: [String] = []
            for item in sequence {
                guard case .scalar(let scalar) = item else {
                    throw refuse("expected event names, found \(kind(of: item)) in the list")
                }
                names.append(scalar.string)
            }
            guard !names.isEmpty else { throw refuse("the list is empty (example: [exec, exit])") }
            return names.joined(separator: ",")
        default:
            throw refuse("expected a single value, found \(kind(of: node))")
        }
    }

    /// What a node is, for errors.
    private static func kind(of node: Node) -> String {
        switch node {
        case .scalar: "a value"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    /// A YAML syntax error as `line N: not YAML: problem`, or a key given twice (which Yams
    /// refuses while composing) as `KEY: given more than once (first on line N)`.
    private static func syntaxProblem(_ error: any Error) -> String {
        guard let yaml = error as? YamlError else { return "not YAML: \(error)" }
        switch yaml {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return "line \(mark.line): not YAML: \(problem)"
        case .duplicatedKeysInMapping(let duplicates, let context):
            return "\(duplicates.joined(separator: ", ")): given more than once (first on line \(context.mark.line))"
        case .reader(let problem, _, _, _):
            return "not YAML: \(problem)"
        default:
            return "not YAML: \(yaml)"
        }
    }

    /// Refuses a `sink` with a password in a file others than its owner may read (mode
    /// other than 0600 or 0400): the password is as good as public there.
    static func checkPassword(in sink: String, path: String) throws(DaemonConfigurationError) {
        guard let url = try? FleetURL(parsing: sink), url.password != nil else { return }
        var status = stat()
        guard stat(path, &status) == 0 else { return }
        let mode = UInt32(status.st_mode) & 0o777
        guard mode & 0o077 == 0 else {
            throw DaemonConfigurationError(origin: path, key: DaemonSettingKey.sink.rawValue,
                                           problem: FleetError.exposedConfiguration(path: path, mode: mode).description)
        }
    }

    /// The file's contents, or nil when `mustExist` is false and there is no file.
    static func read(path: String, mustExist: Bool) throws(DaemonConfigurationError) -> String? {
        func refuse(_ problem: String) -> DaemonConfigurationError { DaemonConfigurationError(origin: path, problem: problem) }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            let code = errno
            if code == ENOENT, !mustExist { return nil }
            throw refuse("cannot read: \(String(cString: strerror(code)))")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw refuse("cannot read: \(String(cString: strerror(errno)))") }
        guard status.st_mode & S_IFMT == S_IFREG else { throw refuse("not a regular file") }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = Glibc.read(descriptor, &chunk, chunk.count)
            if count < 0, errno == EINTR { continue }
            if count < 0 { throw refuse("cannot read: \(String(cString: strerror(errno)))") }
            if count == 0 { break }
            bytes += chunk[..<count]
            if bytes.count > maximumBytes { throw refuse("larger than 1 MiB: not a configuration file") }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw refuse("not UTF-8 text") }
        return text
    }
}
