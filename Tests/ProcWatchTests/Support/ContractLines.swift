import Foundation

/// One line of `procwatch --json` output (docs/events.md), the fields a test compares.
struct ContractLine {
    let event: String
    let pid: Int32?
    let uid: Int?
    let cmdline: [String]?
    let exitCode: Int?
    let path: String?

    /// Every event line of `text` (JSON lines); a line that is not a JSON object with an
    /// `event` is kept as `not-json` so that an exact comparison shows it.
    static func parse(_ text: String) -> [ContractLine] {
        text.split(separator: "\n").map { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let event = object["event"] as? String else {
                return ContractLine(event: "not-json: \(line)", pid: nil, uid: nil, cmdline: nil, exitCode: nil, path: nil)
            }
            return ContractLine(event: event, pid: (object["pid"] as? Int).map(Int32.init), uid: object["uid"] as? Int,
                                cmdline: object["cmdline"] as? [String], exitCode: object["exit_code"] as? Int,
                                path: object["path"] as? String)
        }
    }
}

/// The daemon's log (swift-log's stream handler on standard error): the messages of its
/// lines, without the timestamp, level and label that start each.
enum DaemonLog {
    /// `2026-11-25T10:00:00+0000 notice procwatch.daemon: [ProcWatchDaemon] MESSAGE` →
    /// (`notice`, `MESSAGE`); a line of another form is kept whole with level `?`.
    static func entries(_ stderr: String) -> [(level: String, message: String)] {
        stderr.split(separator: "\n").map { line in
            let words = line.split(separator: " ", maxSplits: 4, omittingEmptySubsequences: false)
            guard words.count == 5, words[2] == "procwatch.daemon:", words[3].hasPrefix("[") else { return ("?", String(line)) }
            return (String(words[1]), String(words[4]))
        }
    }

    /// The messages that start with `prefix`.
    static func messages(_ stderr: String, startingWith prefix: String) -> [String] {
        entries(stderr).map(\.message).filter { $0.hasPrefix(prefix) }
    }
}
