import ArgumentParser

/// `storm-bench`: the end-to-end fork-storm benchmark of procwatch (see `scripts/bench-storm`).
@main
struct StormBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storm-bench",
        abstract: "Fork storms against procwatch, forkstat and a minimal C consumer.",
        subcommands: [Run.self, FidelityCommand.self, Forker.self, SoakCommand.self, ListenersCommand.self, DaemonCommand.self]
    )
}
