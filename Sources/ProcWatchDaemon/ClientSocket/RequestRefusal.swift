import ProcWatchCLI

/// Why a client's request was refused. ``description`` is the text of the one
/// `{"error":"…"}` line the client gets (docs/daemon-protocol.md lists them all) and of the
/// daemon's log line.
enum RequestRefusal: Error, Equatable, CustomStringConvertible {
    /// The line is not JSON (or not UTF-8, or empty).
    case notJSON
    /// The line is JSON but not an object.
    case notAnObject
    /// A key the protocol does not have.
    case unknownKey(String)
    /// A known key with a value of the wrong type (the key, what it must be).
    case wrongType(String, String)
    /// An event name `procwatch -e` does not take.
    case unknownEvent(String)
    /// `comm` does not compile (the expression, the compiler's complaint).
    case badRegex(String, String)
    /// A protocol version other than 1.
    case protocolVersion(Int)
    /// The line grew past the limit (in bytes) without a newline.
    case tooLong(Int)
    /// The client closed its side before the newline.
    case incomplete
    /// No complete line within the timeout.
    case timeout(Duration)

    var description: String {
        switch self {
        case .notJSON: "selection is not JSON"
        case .notAnObject: "selection must be a JSON object"
        case .unknownKey(let key):
            "unknown key '\(key)' in selection; known: \(ClientRequest.keys.joined(separator: ", "))"
        case .wrongType(let key, let expected): "'\(key)' must be \(expected)"
        case .unknownEvent(let name):
            "unknown event '\(name)'; known: \(EventSelection.names.joined(separator: ", "))"
        case .badRegex(let expression, let complaint):
            "'comm' \(expression) is not a valid regular expression: \(complaint)"
                .split(whereSeparator: \.isNewline).joined(separator: " ")
        case .protocolVersion(let version):
            "protocol \(version) is not supported; this daemon speaks protocol \(ClientRequest.protocolVersion)"
        case .tooLong(let limit): "selection longer than \(limit) bytes"
        case .incomplete: "selection ended without a newline"
        case .timeout(let timeout): "no selection within \(timeout)"
        }
    }
}
