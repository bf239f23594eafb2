import ProcWatch

/// What `-e LIST` asked for, in forkstat's vocabulary and ours.
package struct EventSelection: Equatable {
    /// Kernel kinds to show.
    var kinds: ProcessEventKinds = []
    /// `fork`: process creation; `clone`: thread creation (both are the kernel's fork event).
    var processForks = false
    var threadForks = false

    /// Every name `-e` accepts, for help and errors.
    static let names = ["fork", "clone", "exec", "exit", "core", "coredump", "comm", "ptrace", "uid", "gid", "sid",
                        "nonzeroexit", "failed_exit", "all"]

    /// Parses a comma-separated list; throws a message naming the first unknown name.
    init(parsing list: String) throws(SelectionError) {
        let names = list.split(separator: ",", omittingEmptySubsequences: false)
            .map { String($0).trimmingCharacters(in: " ") }
        for name in names {
            switch name {
            case "fork": kinds.insert(.fork); processForks = true
            case "clone": kinds.insert(.fork); threadForks = true
            case "exec": kinds.insert(.exec)
            case "exit": kinds.insert(.exit)
            case "core", "coredump": kinds.insert(.coredump)
            case "comm": kinds.insert(.comm)
            case "ptrace": kinds.insert(.ptrace)
            case "uid": kinds.insert(.uid)
            case "gid": kinds.insert(.gid)
            case "sid": kinds.insert(.sid)
            case "nonzeroexit", "failed_exit": kinds.insert(.failedExit)
            case "all": self = .all
            default: throw SelectionError(name: name)
            }
        }
        if kinds.contains(.exit) { kinds.remove(.failedExit) }
    }

    private init() {}

    /// Everything (`-E`, `-e all`).
    static var all: EventSelection {
        var selection = EventSelection()
        selection.kinds = .all
        selection.processForks = true
        selection.threadForks = true
        return selection
    }

    /// What to subscribe to: the selection plus what the process table needs to name
    /// processes (fork, exec, comm, uid, and exits to retire them). With only failed exits
    /// asked for, the kernel filter keeps successful exits out; the table sweeps instead.
    package var subscription: ProcessEventKinds {
        var needed = kinds.union([.fork, .exec, .comm, .uid])
        if !kinds.contains(.failedExit) || kinds.contains(.exit) { needed.insert(.exit) }
        return needed
    }

    /// What `record` subscribes to: ``subscription`` with every exit, since a process's
    /// `processes` row ends (with its status) at its exit whatever `-e` keeps as events.
    package var bookkeepingSubscription: ProcessEventKinds {
        subscription.subtracting(.failedExit).union(.exit)
    }

    /// Whether an event is one the user asked to see.
    package func shows(_ event: ProcessEvent) -> Bool {
        if case .fork(_, let child) = event.detail { return child.isThread ? threadForks : processForks }
        return kinds.admits(event)
    }
}

/// An unknown `-e` name.
struct SelectionError: Error, Equatable, CustomStringConvertible {
    var name: String
    var description: String {
        "unknown event '\(name)' in -e; known: \(EventSelection.names.joined(separator: ", "))"
    }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        String(drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}
