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
    /// Of ``missingKinds``, those the proc connector reports instead, merged into the same
    /// stream (every kernel kind, unless the connector could not be subscribed: the reason
    /// then says why).
    public var connectorKinds: ProcessEventKinds

    /// Creates a choice.
    public init(backend: ProcessEventSource.Backend, reason: String, missingKinds: ProcessEventKinds = [],
                connectorKinds: ProcessEventKinds = []) {
        self.backend = backend
        self.reason = reason
        self.missingKinds = missingKinds
        self.connectorKinds = connectorKinds
    }

    /// One line: `source: bpf (the BPF programs loaded and attached)`, or with kinds whose
    /// programs did not attach, `…; not from BPF: comm (from the connector)`.
    public var description: String {
        var line = "source: \(backend.rawValue) (\(reason))"
        if !missingKinds.isEmpty {
            line += "; not from BPF: \(missingKinds)"
            if !connectorKinds.isEmpty { line += " (\(connectorKinds == missingKinds ? "" : "\(connectorKinds) ")from the connector)" }
        }
        return line
    }
}
