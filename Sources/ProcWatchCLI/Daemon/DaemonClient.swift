import ProcWatch
import Synchronization

/// The client side of the daemon's protocol (docs/daemon-protocol.md): the hello, the
/// selection and its answer, then the event lines, read back into enriched events.
package final class DaemonClient: Sendable {
    /// The daemon's hello.
    package struct Hello: Sendable, Equatable {
        /// Where its events come from (`bpf` or `connector`).
        var source: String
        /// Whether this client sees every process (`all`) or only its own (`own`).
        var seesEverything: Bool
    }

    /// The protocol version this client speaks.
    static let protocolVersion = 1
    /// Seconds to wait for the hello and for the answer to the selection.
    static let helloTimeout = 5.0, answerTimeout = 15.0

    private let connection: DaemonConnection
    /// What the daemon said of itself.
    package let hello: Hello
    private let stopped = Atomic<Bool>(false)

    /// The socket's path.
    var path: String { connection.path }

    /// Connects and reads the hello.
    init(path: String) throws(DaemonClientError) {
        connection = try DaemonConnection(path: path)
        guard let line = try connection.readLine(timeout: Self.helloTimeout, waitingFor: "hello") else {
            throw DaemonClientError("\(path) is not a procwatch daemon: it closed the connection without a hello")
        }
        hello = try Self.readHello(line, path: path)
    }

    /// Connects, reads the hello, sends `selection` and waits for the daemon to accept it.
    convenience init(path: String, selection: DaemonSelection) throws(DaemonClientError) {
        try self.init(path: path)
        try select(selection)
    }

    static func readHello(_ line: [UInt8], path: String) throws(DaemonClientError) -> Hello {
        let notDaemon = DaemonClientError("\(path) is not a procwatch daemon: its first line is not a procwatch hello")
        guard let hello = try? JSONValue.parse(line), hello["procwatch"] == .string("daemon") else { throw notDaemon }
        guard let version = hello["protocol"]?.integer(Int.self) else { throw notDaemon }
        guard version == protocolVersion else {
            throw DaemonClientError("the daemon at \(path) speaks protocol \(version); this procwatch speaks \(protocolVersion)")
        }
        guard case .string(let source) = hello["source"] ?? .null, case .string(let visibility) = hello["visibility"] ?? .null,
              visibility == "all" || visibility == "own"
        else { throw notDaemon }
        return Hello(source: source, seesEverything: visibility == "all")
    }

    /// Sends the selection and reads the answer: `{"ok":true}`, or the daemon's error as it
    /// wrote it.
    func select(_ selection: DaemonSelection) throws(DaemonClientError) {
        try connection.send(selection.line)
        guard let line = try connection.readLine(timeout: Self.answerTimeout, waitingFor: "answer to the selection") else {
            throw DaemonClientError("the daemon at \(path) closed the connection without answering the selection")
        }
        let answer = try? JSONValue.parse(line)
        if answer?["ok"] == .bool(true) { return }
        if case .string(let message) = answer?["error"] ?? .null {
            // The daemon's own line, as it is (one line: a newline would start another).
            throw DaemonClientError(String(message.split(whereSeparator: \.isNewline).first ?? ""))
        }
        throw DaemonClientError("the daemon at \(path) answered the selection with neither ok nor an error")
    }

    /// The one source line: `source: daemon PATH (bpf; all processes)`, with why it was
    /// chosen when procwatch chose it itself.
    func sourceLine(reason: String?) -> String {
        var line = "source: daemon \(path) (\(hello.source); \(hello.seesEverything ? "all processes" : "your processes only")"
        if let reason { line += "; \(reason)" }
        return line + ")"
    }

    /// Reads events until ``stop()`` or the end of the stream, on the calling thread: each
    /// to `handle`, and `batchEnded` whenever no further line is waiting (so output follows
    /// the events as closely as the kernel source's does). Throws when the daemon closed
    /// the connection or sent a line that is not an event.
    func stream(handle: (ContractEvent) -> Void, batchEnded: () -> Void) throws(DaemonClientError) {
        while true {
            guard let line = try connection.readLine() else {
                if stopped.load(ordering: .acquiring) { return }
                throw .closed
            }
            let event: ContractEvent
            do { event = try ContractReader.read(line) } catch {
                if stopped.load(ordering: .acquiring) { return }
                throw DaemonClientError("the daemon at \(path) sent a line that is not an event: \(error)")
            }
            handle(event)
            if !connection.hasBufferedLine { batchEnded() }
        }
    }

    /// Ends ``stream(handle:batchEnded:)`` from another thread (a stop, not a failure).
    func stop() {
        stopped.store(true, ordering: .releasing)
        connection.interrupt()
    }
}
