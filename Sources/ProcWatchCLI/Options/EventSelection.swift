import ProcWatch

/// What `-e LIST` asked for, in forkstat's vocabulary and ours.
package struct EventSelection: Equatable, Sendable {
    /// Kernel kinds to show.
    var kinds: ProcessEventKinds = []
    /// `fork`: process creation; `clone`: thread creation (both are the kernel's fork event).
    var processForks = false
    var threadForks = false

    /// Every name `-e` accepts, for help and errors: each kind's in forkstat's order (with
    /// `clone` for thread forks after `fork`, and the short name before the contract's where
    /// they differ: `core`, `execfail`), then the failed-exit filter and `all`.
    package static let names = EventKind.selectionOrder.flatMap { kind in
        (kind.label == kind.name ? [kind.name] : [kind.label, kind.name]) + (kind == .fork ? ["clone"] : [])
    } + ["nonzeroexit", "failed_exit", "all"]

    /// Parses a comma-separated list; throws a message naming the first unknown name.
    package init(parsing list: String) throws(SelectionError) {
        let names = list.split(separator: ",", omittingEmptySubsequences: false)
            .map { String($0).trimmingCharacters(in: " ") }
        for name in names {
            switch name {
            case "clone": kinds.insert(.fork); threadForks = true
            case "nonzeroexit", "failed_exit": kinds.insert(.failedExit)
            case "all": self = .all
            default:
                guard let kind = EventKind.selectionOrder.first(where: { $0.name == name || $0.label == name }) else {
                    throw SelectionError(name: name)
                }
                kinds.insert(kind.bit)
                if kind == .fork { processForks = true }
            }
        }
        if kinds.contains(.exit) { kinds.remove(.failedExit) }
    }

    private init() {}

    /// Everything (`-E`, `-e all`).
    package static var all: EventSelection {
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
package struct SelectionError: Error, Equatable, CustomStringConvertible {
    /// The name no event kind has.
    package var name: String
    package var description: String {
        "unknown event '\(name)' in -e; known: \(EventSelection.names.joined(separator: ", "))"
    }
}

extension EventKind {
    /// The kinds `-e` selects, in the order of `-e` names and of the statistics columns: the
    /// connector's in forkstat's order, then those only the kernel-side watchers send
    /// (`exec_failed`), which forkstat never knew.
    static let selectionOrder: [EventKind] = [.fork, .exec, .exit, .coredump, .comm, .ptrace, .uid, .gid, .sid]
        + allCases.filter { !$0.isKernelKind && $0 != .unknown }

    /// The short name the live view and `-e` use, in forkstat's vocabulary (`core`; a thread
    /// fork is shown as `clone`, which is no kind of its own) and, for the kind forkstat
    /// never had, in its style (`execfail`: one word that fits the EVENT column).
    var label: String {
        switch self {
        case .coredump: "core"
        case .execFailed: "execfail"
        default: name
        }
    }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        String(drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}
