import OutputBytes
import ProcWatch

/// What a client asks the daemon for (docs/daemon-protocol.md, "Selection"), built from the
/// command's own options, so that `--connect` selects what the same options select locally.
package struct DaemonSelection: Sendable, Equatable {
    /// `-e` names as given (`all` for `-E`/`-X`); nil: the daemon's default, the live view's.
    var events: [String]?
    /// `--pid`.
    var pids: [Int32] = []
    /// `--tree`, and `run`'s command.
    var trees: [Int32] = []
    /// `--comm`.
    var comm: String?
    /// `--user`, as a uid.
    var users: [UInt32] = []

    init(events: [String]? = nil, pids: [Int32] = [], trees: [Int32] = [], comm: String? = nil, users: [UInt32] = []) {
        self.events = events
        self.pids = pids
        self.trees = trees
        self.comm = comm
        self.users = users
    }

    /// The selection of the live view's and `stats`'s options (`everything`: `-X`).
    init(options: SelectionOptions, everything: Bool) throws(DaemonClientError) {
        if everything || options.allEvents {
            events = ["all"]
        } else if let list = options.events {
            events = list.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingCharacters(in: " ") }
        }
        pids = options.pid.map { [$0] } ?? []
        trees = options.tree.map { [$0] } ?? []
        comm = options.comm
        if let user = options.user {
            guard let uid = AccountNames.uid(of: user) else { throw DaemonClientError("--user \(user): no such user") }
            users = [uid]
        }
    }

    /// What `run` follows: the command's tree, with every kind its report is made of.
    static func run(command pid: Int32) -> DaemonSelection {
        DaemonSelection(events: ["fork", "clone", "exec", "comm", "exit"], trees: [pid])
    }

    /// The selection line: `{"protocol":1,"events":[…],"pids":[…],"trees":[…],"comm":"…","users":[…]}`,
    /// keys that were not given left out.
    var line: String {
        var json = JSONObject()
        json.integer("protocol", 1)
        if let events { json.strings("events", events) }
        if !pids.isEmpty { json.member("pids") { $0.append(jsonIntegers: pids) } }
        if !trees.isEmpty { json.member("trees") { $0.append(jsonIntegers: trees) } }
        if let comm { json.string("comm", comm) }
        if !users.isEmpty { json.member("users") { $0.append(jsonIntegers: users) } }
        return json.finish()
    }
}
