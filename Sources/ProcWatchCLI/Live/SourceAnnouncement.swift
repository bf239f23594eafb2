import ProcWatch

/// The one line every command that watches will print on standard error once its source
/// has started: `procwatch: source: bpf (…)` or `procwatch: source: connector (reason…)` —
/// which backend `--source` (default `auto`) got, and why.
///
/// Prints nothing yet: the library does not say which backend is active, nor why, until the
/// kernel-side (eBPF) source lands with that API. Every command calls this right after its
/// source started and before its first output, so that change is made here alone.
package enum SourceAnnouncement {
    /// Called with the source once it has started (its subscription is live).
    package static func sourceStarted(_ source: ProcessEventSource) {
        // Intentionally empty until the library reports the active backend and its reason.
    }
}
