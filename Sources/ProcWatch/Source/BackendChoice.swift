/// Which backend a source reads its events from, and why: what `procwatch` prints in one
/// line on standard error when it starts (`--source auto` says why it fell back).
public struct BackendChoice: Sendable, Hashable, CustomStringConvertible {
    /// The backend in use: ``ProcessEventSource/Backend/bpf`` or ``ProcessEventSource/Backend/connector``.
    public var backend: ProcessEventSource.Backend
    /// Why, in a few words ("the BPF programs loaded and attached", "libbpf.so.1 not found").
    public var reason: String
    /// With the kernel-side watchers, the kinds their programs could not report (a probe that
    /// does not attach on this kernel); empty when every kind is theirs.
    public var missingKinds: ProcessEventKinds

    /// Creates a choice.
    public init(backend: ProcessEventSource.Backend, reason: String, missingKinds: ProcessEventKinds = []) {
        self.backend = backend
        self.reason = reason
        self.missingKinds = missingKinds
    }

    /// One line: `source: bpf (the BPF programs loaded and attached)`.
    public var description: String {
        var line = "source: \(backend.rawValue) (\(reason))"
        if !missingKinds.isEmpty { line += "; not from BPF: \(missingKinds)" }
        return line
    }
}
