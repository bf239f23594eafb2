extension ProcessEvent {
    /// The exec details the kernel-side watchers took at this event, for `exec` events only
    /// (nil for events from the connector, which never carry them).
    public var kernelExecDetails: ExecDetails? {
        guard case .exec = detail else { return nil }
        return kernelDetails?.exec
    }

    /// The command line the event carries itself, taken in the kernel: an exec's (read at
    /// the exec, when the process cannot be gone yet), or the arguments a failed exec was
    /// called with. nil when the event carries none — every event from the connector —
    /// and the process table's command line is the one to show.
    ///
    /// The one rule both the event contract and the text view follow, so that a line and
    /// its JSON never show two different command lines.
    public var carriedCommandLine: [String]? {
        switch detail {
        case .exec: kernelDetails?.exec?.commandLine
        case .execFailed(_, let failure): failure.commandLine
        default: nil
        }
    }

    /// Whether ``carriedCommandLine`` was longer than the kernel-side watchers copy, and cut.
    public var isCarriedCommandLineCut: Bool {
        switch detail {
        case .exec: kernelDetails?.exec?.isCommandLineCut ?? false
        case .execFailed(_, let failure): failure.isCommandLineCut
        default: false
        }
    }
}
