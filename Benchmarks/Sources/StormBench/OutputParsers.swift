/// Readers of each consumer's output. The storm's own events are told apart by parent pid:
/// the forkers' pids are known, and a forker's children are the storm.
enum OutputParsers {
    // MARK: procwatch

    /// `procwatch --json`: fork (not a thread) and exit events whose `ppid` is a forker;
    /// exec events whose `ppid` is a forker (or, if `ppid` is missing, whose pid is a child
    /// seen at fork); `lost` events add their `count`. An exit counts as named right when
    /// its `comm` is `true`.
    static func procwatchJSON(_ bytes: [UInt8], forkers: Set<Int>) -> Observation {
        var seen = Observation(scope: .storm)
        var named = 0
        var children = Set<Int>()
        var lost = 0
        forEachLine(bytes) { line in
            let line = ByteLine(line)
            guard let event = line.string(after: Keys.event) else { return }
            if event != "lost" { seen.handled += 1 }
            switch event {
            case "fork":
                guard !line.contains(Keys.threadTrue), let ppid = line.int(after: Keys.ppid), forkers.contains(ppid) else { return }
                seen.forks += 1
                if let pid = line.int(after: Keys.pid) { children.insert(pid) }
            case "exec":
                let pid = line.int(after: Keys.pid)
                if let ppid = line.int(after: Keys.ppid) {
                    guard forkers.contains(ppid) else { return }
                } else {
                    guard let pid, children.contains(pid) else { return }
                }
                seen.execs += 1
            case "exit":
                guard !line.contains(Keys.threadTrue) else { return }
                let pid = line.int(after: Keys.pid)
                // The kernel sends parent 0 when the parent reaped the child before the
                // exit event went out: then the pid seen at fork tells.
                let ppid = line.int(after: Keys.ppid) ?? 0
                guard forkers.contains(ppid) || (ppid == 0 && pid.map { children.contains($0) } ?? false) else { return }
                seen.exits += 1
                if line.string(after: Keys.comm) == "true" { named += 1 }
                if let pid { children.remove(pid) }
            case "lost":
                if let count = line.int(after: Keys.count) { lost += count } else { seen.uncountedLossReports += 1 }
            default: return
            }
        }
        seen.lost = lost
        seen.namedTrue = named
        return seen
    }

    /// The `procwatch` text view: `TIME EVENT PID PPID INFO DURATION PROCESS`, INFO padded to
    /// 24 and DURATION right-aligned in 9, so an exit's PROCESS starts at byte 76. Lost
    /// events are lines `… lost N events (reason, cpu C)`. Named right: `/bin/true`, `true`
    /// or `[true]` (the kernel's name in brackets when the command line was not known).
    static func procwatchText(_ bytes: [UInt8], forkers: Set<Int>) -> Observation {
        var seen = Observation(scope: .storm)
        var named = 0
        var children = Set<Int>()
        var lost = 0
        let processColumn = 15 + 1 + 8 + 1 + 7 + 1 + 7 + 1 + 24 + 1 + 9 + 1
        forEachLine(bytes) { raw in
            let line = ByteLine(raw)
            let tokens = line.tokens(limit: 6)
            guard tokens.count >= 3, line.text(tokens[0]) != "TIME" else { return }
            let kind = line.text(tokens[1])
            if kind != "lost" { seen.handled += 1 }
            if kind == "lost" {
                // PID and PPID are blank: "TIME lost lost N events (...)".
                guard let at = tokens.indices.dropFirst(2).first(where: { line.text(tokens[$0]) == "lost" }) else { return }
                if at + 1 < tokens.count, let count = Int(line.text(tokens[at + 1])) { lost += count } else { seen.uncountedLossReports += 1 }
                return
            }
            guard tokens.count >= 5 else { return }
            let pid = Int(line.text(tokens[2]))
            let ppid = Int(line.text(tokens[3]))
            let info = line.text(tokens[4])
            switch kind {
            case "fork":
                guard info == "child", let ppid, forkers.contains(ppid) else { return }
                seen.forks += 1
                if let pid { children.insert(pid) }
            case "exec":
                // PPID is blank when procwatch did not know the parent (e.g. it lost the fork).
                let byParent = ppid.map { forkers.contains($0) } ?? false
                guard byParent || (pid.map { children.contains($0) } ?? false) else { return }
                seen.execs += 1
            case "exit":
                guard info != "thread" else { return }
                let byParent = ppid.map { forkers.contains($0) } ?? false
                guard byParent || (pid.map { children.contains($0) } ?? false) else { return }
                seen.exits += 1
                if let pid { children.remove(pid) }
                if raw.count > processColumn {
                    let process = String(decoding: UnsafeBufferPointer(rebasing: raw[processColumn...]), as: UTF8.self)
                    if ["true", "/bin/true", "[true]"].contains(process.trimmingSpaces) { named += 1 }
                }
            default: return
            }
        }
        seen.lost = lost
        seen.namedTrue = named
        return seen
    }

    /// `procwatch -q`: the per-command rows of the storm, `storm-bench` (the forkers' forks,
    /// the plain storm's exits, and exec-storm exits named before the exec) and `true`
    /// (execs and exits); the `true` rows' exits; `Lost events: N`; all events handled from
    /// the `(all)` row.
    static func procwatchStatistics(_ text: String) -> Observation {
        var seen = Observation(scope: .rows)
        guard let table = StatisticsTable(text) else {
            seen.notes.append("no statistics table in the output")
            return seen
        }
        for row in table.rows where ["storm-bench", "true", "/bin/true", "[true]"].contains(row.name) {
            seen.forks += row.values["Fork"] ?? 0
            seen.execs += row.values["Exec"] ?? 0
            seen.exits += row.values["Exit"] ?? 0
        }
        seen.handled = table.rows.first(where: { $0.name == "(all)" })?.values["Total"] ?? 0
        seen.namedTrue = table.rows.filter { ["true", "/bin/true", "[true]"].contains($0.name) }.reduce(0) { $0 + ($1.values["Exit"] ?? 0) }
        for line in text.split(separator: "\n") where line.hasPrefix("Lost events:") {
            let words = line.split(separator: " ")
            if words.count >= 3, let count = Int(words[2]) { seen.lost = count }
        }
        if seen.lost == nil { seen.notes.append("no 'Lost events:' line") }
        return seen
    }

    // MARK: forkstat

    /// `forkstat -q -S`: rows are named by /proc cmdline when forkstat got to it, else by
    /// comm, else `<unknown>`: the storm's rows are those naming storm-bench (forks, and
    /// exits named by the parent), `/bin/true`, `true`, and `<unknown>` (which may hold a
    /// few background exits). Exits named right: the rows `/bin/true` and `true`.
    /// forkstat reports no losses.
    static func forkstatStatistics(_ text: String) -> Observation {
        var seen = Observation(scope: .rows)
        guard let table = StatisticsTable(text) else {
            seen.notes.append("no statistics table in the output")
            return seen
        }
        for row in table.rows {
            seen.handled += row.values["Total"] ?? 0
            guard row.name.contains("storm-bench") || ["true", "/bin/true", "<unknown>"].contains(row.name) else { continue }
            seen.forks += row.values["Fork"] ?? 0
            seen.execs += row.values["Exec"] ?? 0
            seen.exits += row.values["Exit"] ?? 0
        }
        seen.namedTrue = table.rows.filter { ["true", "/bin/true"].contains($0.name) }.reduce(0) { $0 + ($1.values["Exit"] ?? 0) }
        return seen
    }

    /// forkstat's text view: `Time Event PID Info Duration Process`, no parent column. A
    /// fork prints two lines, `fork PARENT parent …` then `fork CHILD child …`; the storm's
    /// children are those forked by a forker, and their exec and exit lines are found by pid.
    /// An exit line is `exit PID CODE DURATION PROCESS`; named right: `/bin/true` or `true`.
    static func forkstatText(_ bytes: [UInt8], forkers: Set<Int>) -> Observation {
        var seen = Observation(scope: .storm)
        var named = 0
        var children = Set<Int>()
        var forkerParentLine = false
        forEachLine(bytes) { raw in
            let line = ByteLine(raw)
            let tokens = line.tokens(limit: 64)
            guard tokens.count >= 3, let pid = Int(line.text(tokens[2])) else { return }
            let kind = line.text(tokens[1])
            let info = tokens.count > 3 ? line.text(tokens[3]) : ""
            if !(kind == "fork" && info == "child") { seen.handled += 1 }  // a fork prints two lines
            defer { forkerParentLine = kind == "fork" && info == "parent" && forkers.contains(pid) }
            switch kind {
            case "fork":
                if info == "parent" && forkers.contains(pid) { seen.forks += 1 }
                if info == "child" && forkerParentLine { children.insert(pid) }
            case "exec":
                if children.contains(pid) { seen.execs += 1 }
            case "exit":
                guard children.remove(pid) != nil else { return }
                seen.exits += 1
                var first = 4  // after the exit code
                if first < tokens.count, line.text(tokens[first]).looksLikeDuration { first += 1 }
                let process = tokens[first...].map { line.text($0) }.joined(separator: " ")
                if process == "/bin/true" || process == "true" { named += 1 }
            default: return
            }
        }
        seen.namedTrue = named
        return seen
    }

    // MARK: the C floor

    /// `fork N exec N exit N other N enobufs N seqgap N`: all events, background included;
    /// lost = the sequence gaps.
    static func floor(_ text: String) -> Observation {
        var seen = Observation(scope: .all)
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        var values: [String: Int] = [:]
        var index = 0
        while index + 1 < words.count {
            if let value = Int(words[index + 1]) { values[String(words[index])] = value }
            index += 2
        }
        guard let forks = values["fork"], let execs = values["exec"], let exits = values["exit"] else {
            seen.notes.append("unreadable output")
            return seen
        }
        seen.forks = forks
        seen.execs = execs
        seen.exits = exits
        seen.handled = forks + execs + exits + (values["other"] ?? 0)
        seen.lost = values["seqgap"]
        if let enobufs = values["enobufs"], enobufs > 0 { seen.notes.append("\(enobufs) ENOBUFS") }
        return seen
    }
}

/// The per-command table of `procwatch -q` and `forkstat -S`: a header of column names
/// ending in `Process`, then rows of numbers followed by the command.
struct StatisticsTable {
    struct Row {
        var name: String
        var values: [String: Int]
    }

    var columns: [String]
    var rows: [Row] = []

    init?(_ text: String) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let header = lines.firstIndex(where: {
            let words = $0.split(separator: " ")
            return words.last == "Process" && words.contains("Fork")
        }) else { return nil }
        columns = lines[header].split(separator: " ").dropLast().map(String.init)
        for line in lines[(header + 1)...] {
            let words = line.split(separator: " ")
            guard words.count >= columns.count else { break }
            let numbers = words.prefix(columns.count).compactMap { Int($0) }
            guard numbers.count == columns.count else { break }
            rows.append(Row(
                name: words.dropFirst(columns.count).joined(separator: " "),
                values: Dictionary(uniqueKeysWithValues: zip(columns, numbers))
            ))
        }
    }
}

/// JSON keys searched in procwatch's JSON lines (the event contract's field names).
enum Keys {
    static let event = Array(#""event":"#.utf8)
    static let pid = Array(#""pid":"#.utf8)
    static let ppid = Array(#""ppid":"#.utf8)
    static let comm = Array(#""comm":"#.utf8)
    static let count = Array(#""count":"#.utf8)
    static let threadTrue = Array(#""thread":true"#.utf8)
}

/// One line of output, searched as bytes (the JSON output of a big storm is tens of MB).
struct ByteLine {
    let bytes: UnsafeBufferPointer<UInt8>
    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func find(_ pattern: [UInt8]) -> Int? {
        guard !pattern.isEmpty, bytes.count >= pattern.count else { return nil }
        let first = pattern[0]
        var at = 0
        while at <= bytes.count - pattern.count {
            if bytes[at] == first {
                var matched = 1
                while matched < pattern.count && bytes[at + matched] == pattern[matched] { matched += 1 }
                if matched == pattern.count { return at }
            }
            at += 1
        }
        return nil
    }

    func contains(_ pattern: [UInt8]) -> Bool { find(pattern) != nil }

    /// The integer right after `key` (nil if absent or null).
    func int(after key: [UInt8]) -> Int? {
        guard var at = find(key).map({ $0 + key.count }) else { return nil }
        var negative = false
        if at < bytes.count && bytes[at] == UInt8(ascii: "-") { negative = true; at += 1 }
        var value = 0
        var digits = 0
        while at < bytes.count, bytes[at] >= UInt8(ascii: "0"), bytes[at] <= UInt8(ascii: "9") {
            value = value * 10 + Int(bytes[at] - UInt8(ascii: "0"))
            at += 1
            digits += 1
        }
        return digits == 0 ? nil : (negative ? -value : value)
    }

    /// The string right after `key` (escapes not decoded: enough for event names and comm).
    func string(after key: [UInt8]) -> String? {
        guard let start = find(key).map({ $0 + key.count }), start < bytes.count, bytes[start] == UInt8(ascii: "\"") else { return nil }
        var end = start + 1
        while end < bytes.count && bytes[end] != UInt8(ascii: "\"") {
            if bytes[end] == UInt8(ascii: "\\") { end += 1 }
            end += 1
        }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[(start + 1)..<min(end, bytes.count)]), as: UTF8.self)
    }

    /// The first `limit` space-separated words, as byte ranges.
    func tokens(limit: Int) -> [Range<Int>] {
        var result: [Range<Int>] = []
        var at = 0
        while at < bytes.count && result.count < limit {
            while at < bytes.count && bytes[at] == UInt8(ascii: " ") { at += 1 }
            let start = at
            while at < bytes.count && bytes[at] != UInt8(ascii: " ") { at += 1 }
            if at > start { result.append(start..<at) }
        }
        return result
    }

    func text(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }
}

extension String {
    var trimmingSpaces: String {
        var text = Substring(self)
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }

    /// forkstat's duration column, e.g. `0.000s`.
    var looksLikeDuration: Bool {
        hasSuffix("s") && dropLast().allSatisfy { $0.isNumber || $0 == "." } && count > 1
    }
}
