import ProcWatch

/// An event together with what the process table knew when it was delivered.
struct ObservedEvent {
    var event: ProcessEvent
    /// The subject process after the event was applied (for fork: the child).
    var process: ProcessRecord?
    /// The subject's name before the event (for comm and exec lines).
    var previousName: String?
    /// Ancestors, nearest first, when `--ancestry` asked for them.
    var ancestors: [ProcessRecord] = []
}
