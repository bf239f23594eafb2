import ProcWatch

/// An event together with what the process table knew when it was delivered.
/// SPI (`Benchmarks`): public only so the micro-benchmarks can build one.
@_spi(Benchmarks) public struct ObservedEvent {
    var event: ProcessEvent
    /// The subject process after the event was applied (for fork: the child).
    var process: ProcessRecord?
    /// The subject's name before the event (for comm and exec lines).
    var previousName: String?
    /// Ancestors, nearest first, when `--ancestry` asked for them.
    var ancestors: [ProcessRecord] = []

    /// An event and the process it concerns.
    public init(event: ProcessEvent, process: ProcessRecord? = nil, previousName: String? = nil, ancestors: [ProcessRecord] = []) {
        self.event = event
        self.process = process
        self.previousName = previousName
        self.ancestors = ancestors
    }
}
