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

    func run() throws {
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
}
