import ProcWatch

/// The one line every command that watches prints on standard error once its source has
/// started: `procwatch: source: bpf (…)` or `procwatch: source: connector (reason…)` —
/// which backend `--source` (default `auto`) got, and why.
package enum SourceAnnouncement {
    /// Called with the source once it has started (its subscription is live).
    package static func sourceStarted(_ source: ProcessEventSource) {
        guard let choice = source.backendChoice else { return }
        FileHandleOutput.standardError("procwatch: \(choice)")
    }
}
