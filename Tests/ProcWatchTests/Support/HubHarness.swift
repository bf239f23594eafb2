import Foundation
import Glibc
import Logging
import ProcWatch
@testable import ProcWatchDaemon
import Synchronization

/// A ``ClientHub`` bound in a fresh temporary directory, with scripted client credentials
/// (the n-th connection gets the n-th; past the script, root) and its log lines captured.
final class HubHarness: Sendable {
    let directory: String
    let hub: ClientHub
    let logLines: LogLines
    /// The pid whose events the hub hides (no process has it: pid_max is 32768 here).
    static let ownPID: Int32 = 99_999

    init(configure: (inout ClientHubSettings) -> Void = { _ in }, credentials script: [PeerCredentials] = []) {
        var template = Array("/tmp/procwatch-hub-XXXXXX".utf8CString)
        directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        var settings = ClientHubSettings(socketPath: directory + "/run/procwatch.sock")
        configure(&settings)
        let lines = LogLines()
        logLines = lines
        var logger = Logger(label: "hub-test") { _ in CapturingLogHandler(lines: lines) }
        logger.logLevel = .info
        let remaining = Mutex(script)
        hub = ClientHub(settings: settings, logger: logger, ownPID: Self.ownPID) { pid, _, _ in
            remaining.withLock { $0.isEmpty ? PeerCredentials(pid: pid, uid: 0, gid: 0) : $0.removeFirst() }
        }
    }

    var socketPath: String { hub.settings.socketPath }

    /// Binds, runs `body` while the hub serves, then shuts it down (as a service group would).
    func serve<Result>(_ body: () async throws -> Result) async throws -> Result {
        try await hub.bind()
        let hub = hub
        let service = Task { try await hub.run() }
        defer { removeDirectory() }
        do {
            let result = try await body()
            service.cancel()
            try await service.value
            return result
        } catch {
            service.cancel()
            try? await service.value
            throw error
        }
    }

    /// A client that read the hello and got `{"ok":true}` for `selection`.
    func connect(_ selection: String = "{}", receiveBuffer: Int? = nil) throws -> UnixSocketClient {
        guard let client = UnixSocketClient(path: socketPath, receiveBuffer: receiveBuffer) else {
            throw HarnessError(description: "connect: errno \(errno)")
        }
        guard client.readLine() != nil, client.send(selection + "\n"), let answer = client.readLine(), answer == #"{"ok":true}"# else {
            throw HarnessError(description: "no ok for \(selection)")
        }
        return client
    }

    private func removeDirectory() {
        _ = try? FileManager.default.removeItem(atPath: directory)
    }
}

struct HarnessError: Error, CustomStringConvertible { var description: String }

/// Log lines a test can read.
final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

/// A log handler that keeps `level: message` lines.
struct CapturingLogHandler: LogHandler {
    let lines: LogLines
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) { lines.append("\(event.level): \(event.message)") }
}

/// Events to publish, with the table's record of their subject as the enrichment gives it.
enum HubEvents {
    static let time = EventTimestamp(monotonicNanoseconds: 1_000_000_000, unixNanoseconds: 1_795_000_000_000_000_000)

    static func process(_ pid: Int32, _ name: String, uid: UInt32?, parent: Int32 = 1) -> ProcessRecord {
        ProcessRecord(pid: pid, parentPID: parent, name: name, commandLine: ["/usr/bin/" + name], uid: uid)
    }

    static func exec(_ pid: Int32, _ name: String, uid: UInt32?) -> EnrichedEvent {
        EnrichedEvent(event: ProcessEvent(detail: .exec(TaskID(pid: pid, tid: pid)), timestamp: time),
                      process: process(pid, name, uid: uid))
    }

    static func fork(_ parent: Int32, _ child: Int32, _ name: String, uid: UInt32?) -> EnrichedEvent {
        EnrichedEvent(event: ProcessEvent(detail: .fork(parent: TaskID(pid: parent, tid: parent), child: TaskID(pid: child, tid: child)),
                                          timestamp: time),
                      process: process(child, name, uid: uid, parent: parent))
    }

    static func exit(_ pid: Int32, _ name: String, uid: UInt32?) -> EnrichedEvent {
        EnrichedEvent(event: ProcessEvent(detail: .exit(TaskID(pid: pid, tid: pid), waitStatus: 0, exitSignal: 17,
                                                        parent: TaskID(pid: 1, tid: 1)), timestamp: time),
                      process: process(pid, name, uid: uid))
    }

    static func setuid(_ pid: Int32, _ name: String, from old: UInt32, to new: UInt32) -> EnrichedEvent {
        EnrichedEvent(event: ProcessEvent(detail: .uid(TaskID(pid: pid, tid: pid), real: new, effective: new), timestamp: time),
                      process: process(pid, name, uid: new), previous: process(pid, name, uid: old))
    }

    static func lost(_ count: Int) -> EnrichedEvent {
        EnrichedEvent(event: ProcessEvent(detail: .lost(count: count, reason: .sequenceGap, cpu: 1), timestamp: time))
    }

    /// `exec 40001`, `lost 3 seq_gap`: what a line is, for exact comparisons of streams.
    static func summary(_ line: String) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let event = object["event"] as? String else { return "not an event: \(line)" }
        if event == "lost" { return "lost \(object["count"].map { "\($0)" } ?? "null") \(object["reason"] ?? "")" }
        return "\(event) \(object["pid"] ?? "")"
    }
}
