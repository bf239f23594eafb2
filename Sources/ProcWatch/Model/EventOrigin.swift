/// Which mode of watching an event came from: the contract's `source` field.
///
/// Events of the /proc scanner (``procfs``) carry it always: what they can tell differs
/// (no exit status of a process reaped by another, no process that lived between two
/// scans). Events read from the kernel leave it unset — the one line procwatch prints on
/// standard error at start names their backend — so the hot path pays no bytes for it.
public enum EventOrigin: String, Sendable, Hashable, CaseIterable {
    /// The kernel's process events connector.
    case connector
    /// The kernel-side (eBPF) watchers.
    case bpf
    /// procwatch's own scans of /proc, where no kernel source works (a user namespace).
    case procfs
}
