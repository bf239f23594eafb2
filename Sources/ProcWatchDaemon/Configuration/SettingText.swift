import ProcWatch
import ProcWatchCLI
import ProcWatchFleet
#if canImport(Glibc)
import Glibc
#endif

/// The text forms of the settings, one parser per kind of value, shared by the file and the
/// flags so that both accept and refuse the same things with the same words.
enum SettingText {
    /// A retention age: a whole number and a unit (`s`, `m`, `h`, `d`, `w`): `14d`, `36h`,
    /// `90m`. Zero (`0`, `0d`) means forever: nil.
    static func retention(_ text: String) throws(SettingValueProblem) -> Duration? {
        let problem = SettingValueProblem("\"\(text)\" is not a duration (examples: 14d, 36h, 90m)")
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let number = Int64(digits) else { throw problem }
        let unit = text.dropFirst(digits.count)
        if number == 0, unit.isEmpty || unitSeconds[String(unit)] != nil { return nil }
        guard let seconds = unitSeconds[String(unit)] else { throw problem }
        let (total, overflow) = number.multipliedReportingOverflow(by: seconds)
        guard !overflow, total <= maximumRetentionSeconds else {
            throw SettingValueProblem("\"\(text)\" is longer than 100 years (0 keeps forever)")
        }
        return .seconds(total)
    }

    private static let unitSeconds: [String: Int64] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800]
    private static let maximumRetentionSeconds: Int64 = 100 * 366 * 86_400

    /// A size in bytes: a whole number with an optional unit, decimal (`kB`, `MB`, `GB`,
    /// `TB`: powers of 1000) or binary (`KiB`, `MiB`, `GiB`, `TiB`: powers of 1024), any
    /// case, a space allowed before it. Zero means unbounded: nil. At least 1 MiB otherwise:
    /// a smaller history would be pruned on nearly every commit.
    static func byteSize(_ text: String) throws(SettingValueProblem) -> Int64? {
        let problem = SettingValueProblem("\"\(text)\" is not a size (examples: 2GiB, 500MB)")
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let number = Int64(digits) else { throw problem }
        var unit = text.dropFirst(digits.count)
        if unit.first == " " { unit = unit.dropFirst() }
        guard let multiplier = unitBytes[unit.lowercased()] else { throw problem }
        if number == 0 { return nil }
        let (total, overflow) = number.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { throw SettingValueProblem("\"\(text)\" is too large (0 leaves the size unbounded)") }
        guard total >= 1 << 20 else { throw SettingValueProblem("\"\(text)\" is less than the least, 1MiB (0 leaves the size unbounded)") }
        return total
    }

    private static let unitBytes: [String: Int64] = [
        "": 1, "b": 1,
        "kb": 1_000, "mb": 1_000_000, "gb": 1_000_000_000, "tb": 1_000_000_000_000,
        "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
    ]

    /// Permission bits in octal, as chmod takes them: `0660`, `660`, `0o660`.
    static func socketMode(_ text: String) throws(SettingValueProblem) -> UInt32 {
        let digits = text.hasPrefix("0o") ? text.dropFirst(2) : Substring(text)
        guard !digits.isEmpty, digits.count <= 4, let mode = UInt32(digits, radix: 8), digits.allSatisfy(\.isASCII) else {
            throw SettingValueProblem("\"\(text)\" is not an octal mode (example: 0660)")
        }
        guard mode <= 0o777 else { throw SettingValueProblem("\"\(text)\" sets more than permission bits (at most 0777)") }
        return mode
    }

    /// A whole number within `range`; `unit` names what it counts, for the error.
    static func count(_ text: String, in range: ClosedRange<Int>, of unit: String, example: Int) throws(SettingValueProblem) -> Int {
        guard let number = Int(text), text.allSatisfy(\.isASCII) else {
            throw SettingValueProblem("\"\(text)\" is not a number of \(unit) (example: \(example))")
        }
        guard range.contains(number) else {
            throw SettingValueProblem("\(number) is out of range (\(range.lowerBound) to \(range.upperBound))")
        }
        return number
    }

    /// An absolute path. `socket`: also short enough for `sockaddr_un` (107 bytes and its NUL).
    static func path(_ text: String, socket: Bool = false) throws(SettingValueProblem) -> String {
        guard text.hasPrefix("/") else { throw SettingValueProblem("\"\(text)\" is not an absolute path") }
        let limit = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1
        if socket, text.utf8.count > limit {
            throw SettingValueProblem("the path is \(text.utf8.count) bytes long; a Unix socket's holds at most \(limit)")
        }
        return text
    }

    /// A group that exists on this host, by name or number (a number is taken as it is).
    static func group(_ text: String) throws(SettingValueProblem) -> String {
        guard !text.isEmpty else { throw SettingValueProblem("\"\" is not a group") }
        guard GroupLookup.id(of: text) != nil else { throw SettingValueProblem("no group \"\(text)\" on this host") }
        return text
    }

    /// `auto`, `bpf` or `connector`, as `--source` takes them.
    static func source(_ text: String) throws(SettingValueProblem) -> ProcessEventSource.Backend {
        guard let backend = ProcessEventSource.Backend(rawValue: text) else {
            let known = ProcessEventSource.Backend.allCases.map(\.rawValue).joined(separator: ", ")
            throw SettingValueProblem("\"\(text)\" is not a source (known: \(known))")
        }
        return backend
    }

    /// Event names as `procwatch -e` takes them, comma-separated.
    static func events(_ text: String) throws(SettingValueProblem) -> EventSelection {
        do {
            return try EventSelection(parsing: text)
        } catch {
            throw SettingValueProblem("unknown event \"\(error.name)\" (known: \(EventSelection.names.joined(separator: ", ")))")
        }
    }
}

extension DaemonSettings {
    /// Sets the setting `key` names from its text form, as the file or a flag gives it.
    mutating func set(_ key: DaemonSettingKey, from text: String) throws(SettingValueProblem) {
        switch key {
        case .stateDir: stateDirectory = try SettingText.path(text)
        case .socket: socketPath = try SettingText.path(text, socket: true)
        case .socketMode: socketMode = try SettingText.socketMode(text)
        case .socketGroup: socketGroup = try SettingText.group(text)
        case .metrics:
            let address: MetricsAddress
            do { address = try MetricsAddress(parsing: text) } catch {
                switch error {
                case .notLoopback: throw SettingValueProblem("\(text) is not a loopback address (metrics are served on 127.0.0.0/8, [::1] or localhost only)")
                default: throw SettingValueProblem("\"\(text)\" is not ADDRESS:PORT (example: 127.0.0.1:9464)")
                }
            }
            // Port 0 would be a port nobody knows: a daemon's endpoint has a fixed one.
            guard address.port != 0 else {
                throw SettingValueProblem("\"\(text)\": the port must be a number from 1 to 65535 (example: 127.0.0.1:9464)")
            }
            metricsAddress = text
        case .keep: keep = try SettingText.retention(text)
        case .maxSize: maxSize = try SettingText.byteSize(text)
        case .source: source = try SettingText.source(text)
        case .events: events = try SettingText.events(text)
        case .clientQueue: clientQueue = try SettingText.count(text, in: 1...1_048_576, of: "events", example: 8192)
        case .topPrograms: topPrograms = try SettingText.count(text, in: 0...1_000, of: "programs", example: 20)
        case .sink:
            do { _ = try FleetURL(parsing: text) } catch { throw SettingValueProblem(error.description) }
            sink = text
        case .spoolMemory: spoolMemory = try SettingText.byteSize(text) ?? 0
        case .spoolMax: spoolMax = try SettingText.byteSize(text) ?? 0
        }
    }
}
