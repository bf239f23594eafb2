import ArgumentParser

/// `storm-bench listeners`: is the kernel's proc-connector listener count above zero, and
/// (with `--release-leaked N`) give back N counts leaked by programs that exited without IGNORE.
struct ListenersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "listeners",
        abstract: "Show whether the kernel's proc-connector listener count is above zero; optionally release leaked counts."
    )

    @Option(name: .long, help: "Release up to this many leaked counts, one at a time, each only while the count is above zero and no connector socket is open.")
    var releaseLeaked = 0

    @Option(name: .long, help: "When the count is below zero (someone gave back a count nobody leaked: the connector is silent even for live listeners), raise it back to zero, adding at most this many; only while no connector socket is open.")
    var restoreZero = 0

    func run() throws {
        if restoreZero > 0 { try restoreToZero() }
        var released = 0
        while true {
            let live = Listeners.liveSockets()
            let raised = try Listeners.anyoneListening()
            if !raised {
                print("count is zero" + (released > 0 ? " (released \(released))" : ""))
                return
            }
            if !live.isEmpty {
                print("count above zero; connector sockets open (port ids \(live.map(String.init).joined(separator: ", "))): someone listens" + (released > 0 ? " (released \(released))" : ""))
                return
            }
            if released >= releaseLeaked {
                print("count above zero, no connector socket open: leaked" + (released > 0 ? " (released \(released))" : ""))
                return
            }
            try Listeners.releaseOne()
            released += 1
        }
    }

    /// Adds one at a time until the probe hears events (the count is then one), then gives
    /// that one back: exactly zero. Stops if a connector socket opens meanwhile: its LISTEN
    /// would be counted as one of ours.
    func restoreToZero() throws {
        guard Listeners.liveSockets().isEmpty else {
            print("connector sockets are open (port ids \(Listeners.liveSockets().map(String.init).joined(separator: ", "))): cannot tell a count below zero from theirs; try again when none is")
            return
        }
        guard try !Listeners.anyoneListening() else {
            print("count is above zero: nothing to restore")
            return
        }
        var added = 0
        while added < restoreZero {
            try Listeners.leakOne()
            added += 1
            guard Listeners.liveSockets().isEmpty else {
                print("a connector socket opened after adding \(added): stopped; the count may still be below zero")
                return
            }
            if try Listeners.anyoneListening() {
                try Listeners.releaseOne()
                print("the count was \(1 - added); added \(added), gave one back: zero")
                return
            }
        }
        print("added \(added) and nobody is heard yet: the count is still below zero (or nothing is sent for another reason)")
    }
}
