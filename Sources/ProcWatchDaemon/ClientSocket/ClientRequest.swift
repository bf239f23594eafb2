import Foundation
import ProcWatch
import ProcWatchCLI

/// A client's selection line, parsed and checked: which events (as `procwatch -e` names
/// them) and which processes (as the live view's `--pid`, `--tree`, `--comm`, `--user`).
/// Every key is optional; unknown keys and values of the wrong type are refused.
struct ClientRequest {
    /// The protocol this daemon speaks.
    static let protocolVersion = 1
    /// The keys a selection may have, in the protocol document's order.
    static let keys = ["protocol", "events", "pids", "trees", "comm", "users"]

    var selection: EventSelection
    var filter: LiveFilter

    /// Parses one line (its newline removed); `ownPID` is the daemon's process, whose
    /// events no client sees.
    init(line: some Collection<UInt8>, ownPID: Int32) throws(RequestRefusal) {
        let fields: Fields
        do {
            fields = try JSONDecoder().decode(Fields.self, from: Data(line))
        } catch let refusal as RequestRefusal {
            throw refusal
        } catch DecodingError.typeMismatch(_, let context) where context.codingPath.isEmpty {
            throw .notAnObject
        } catch {
            throw .notJSON
        }
        if let version = fields.protocolVersion, version != Self.protocolVersion { throw .protocolVersion(version) }
        if let events = fields.events {
            for name in events where name.contains(",") || name.isEmpty { throw .unknownEvent(name) }
            do { selection = try EventSelection(parsing: events.joined(separator: ",")) } catch {
                throw .unknownEvent(error.name)
            }
        } else {
            selection = .all
        }
        filter = LiveFilter()
        filter.excludedPID = ownPID
        filter.pids = Set(fields.pids ?? [])
        filter.trees = (fields.trees ?? []).map { ProcessTree(root: $0, includingLiveDescendants: true) }
        filter.uids = Set(fields.users ?? [])
        if let comm = fields.comm {
            do { filter.comm = try Regex(comm) } catch { throw .badRegex(comm, String(describing: error)) }
        }
    }

    /// The selection's members, each of its type; any other key is refused.
    private struct Fields: Decodable {
        var protocolVersion: Int?
        var events: [String]?
        var pids: [Int32]?
        var trees: [Int32]?
        var comm: String?
        var users: [UInt32]?

        private struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            if let unknown = container.allKeys.first(where: { !ClientRequest.keys.contains($0.stringValue) }) {
                throw RequestRefusal.unknownKey(unknown.stringValue)
            }
            func value<T: Decodable>(_ name: String, _ type: T.Type, _ refusal: RequestRefusal) throws -> T? {
                let key = Key(stringValue: name)
                guard container.contains(key) else { return nil }
                do { return try container.decode(T.self, forKey: key) } catch { throw refusal }
            }
            protocolVersion = try value("protocol", Int.self, .wrongType("protocol", "an integer"))
            events = try value("events", [String].self, .wrongType("events", "an array of event names"))
            pids = try value("pids", [Int32].self, .wrongType("pids", "an array of process ids"))
            trees = try value("trees", [Int32].self, .wrongType("trees", "an array of process ids"))
            comm = try value("comm", String.self, .wrongType("comm", "a string (a regular expression)"))
            users = try value("users", [UInt32].self, .wrongType("users", "an array of uids"))
            for (name, list) in [("pids", pids), ("trees", trees)] where list?.contains(where: { $0 <= 0 }) == true {
                throw RequestRefusal.wrongType(name, "an array of process ids")
            }
        }

    }
}
