import ArgumentParser

/// Options of every subcommand that measures consumers: the programs measured, and how they
/// are run.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: "The procwatch executable.")
    var procwatch = ".build/release/procwatch"

    @Option(name: .long, help: "The forkstat executable.")
    var forkstat = "forkstat"

    @Option(name: .long, help: "Seconds to let the consumers start and subscribe before the storm or workload.")
    var subscribeSeconds = 1.0

    @Option(name: .long, help: "Keep every output (consumers', and the reference's and workload's) in this directory (default: a temporary one, removed).")
    var keep: String?

    /// For the JSON report's settings.
    var settings: [(String, JSON)] {
        [("subscribe_seconds", .number(subscribeSeconds)), ("procwatch", .string(procwatch)), ("forkstat", .string(forkstat))]
    }
}
