/// What `procwatch record` kept, read back with `procwatch report FILE --json` once the
/// recorder has ended: the summary's events per kind and its lost events (the recorder
/// stores each `lost` event it got, with its count). The whole host is recorded, so the
/// figures are of every event (scope `all`, background included), like the C floor's.
enum RecordReadBack {
    static func observation(procwatch: String, database: String) -> Observation {
        var seen = Observation(scope: .all)
        let report = (try? capture([procwatch, "report", database, "--json"])) ?? ""
        guard let summary = report.firstRange(of: "\"summary\"").map({ report[$0.upperBound...] }) else {
            seen.notes.append("`procwatch report \(database) --json` printed no summary")
            return seen
        }
        let events = counts(inObjectAfter: "\"events\"", in: summary)
        seen.forks = events["fork"] ?? 0
        seen.execs = events["exec"] ?? 0
        seen.exits = events["exit"] ?? 0
        seen.handled = events.filter { $0.key != "lost" }.values.reduce(0, +)
        seen.lost = number(after: "\"lost_events\"", in: summary)
        if seen.lost == nil { seen.notes.append("no lost_events in the report's summary") }
        return seen
    }

    /// The integer after `key` and its colon (JSONEncoder's pretty output: `"key" : 12`).
    static func number(after key: String, in text: Substring) -> Int? {
        guard let found = text.firstRange(of: key) else { return nil }
        let rest = text[found.upperBound...].drop { $0 == " " || $0 == ":" }
        return Int(rest.prefix { $0.isNumber })
    }

    /// The `"name" : N` members of the flat object after `key`.
    static func counts(inObjectAfter key: String, in text: Substring) -> [String: Int] {
        guard let found = text.firstRange(of: key),
              let open = text[found.upperBound...].firstIndex(of: "{"),
              let close = text[open...].firstIndex(of: "}") else { return [:] }
        var counts: [String: Int] = [:]
        for member in text[text.index(after: open)..<close].split(separator: ",") {
            let parts = member.split(separator: ":")
            guard parts.count == 2, let value = Int(String(parts[1]).trimmingCharacters) else { continue }
            counts[String(String(parts[0]).trimmingCharacters.filter { $0 != "\"" })] = value
        }
        return counts
    }
}
