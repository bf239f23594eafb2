import SystemPackage

/// Why procwatch cannot watch processes. Each description is one line that says what to do.
public enum ProcWatchError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kernel has no process events connector (CONFIG_CONNECTOR / CONFIG_PROC_EVENTS).
    case connectorUnavailable(detail: String)
    /// The kernel refused the operation for lack of a privilege (`capability`, e.g. CAP_NET_ADMIN).
    case permissionDenied(operation: String, capability: String)
    /// LISTEN was refused because this process is in another network namespace.
    case otherNetworkNamespace
    /// The kernel never acknowledged LISTEN: it ignores subscriptions from other user or PID namespaces.
    case subscriptionIgnored(timeout: Duration)
    /// The kernel acknowledged LISTEN with an error number.
    case subscriptionRejected(errno: Int32)
    /// Another system call failed.
    case system(call: String, errno: Int32)
    /// The kernel's taskstats interface is missing or did not answer.
    case taskstatsUnavailable(detail: String)
    /// The stream ended because its consumer was cancelled.
    case cancelled
    /// The kernel-side (eBPF) watchers cannot run here: no libbpf, no privilege, a program
    /// the kernel refused (`reason` says which).
    case kernelWatchersUnavailable(reason: String)

    public var description: String {
        switch self {
        case .connectorUnavailable(let detail):
            "this kernel has no process events connector (\(detail)); it needs CONFIG_CONNECTOR=y and CONFIG_PROC_EVENTS=y"
        case .permissionDenied(let operation, let capability):
            "\(operation) was refused: run as root or grant \(capability) (e.g. sudo setcap \(capability.lowercased())+ep $(which procwatch))"
        case .otherNetworkNamespace:
            "the kernel refused the subscription (ECONNREFUSED): process events are only sent to the initial network namespace; run procwatch on the host, not inside a container or `unshare --net`"
        case .subscriptionIgnored(let timeout):
            "the kernel did not acknowledge the subscription within \(timeout): it ignores requests from a user or PID namespace other than the initial one; run procwatch on the host (not in a container or `unshare --user/--pid`)"
        case .subscriptionRejected(let errno):
            "the kernel rejected the subscription: \(Errno(rawValue: errno)) (errno \(errno))"
        case .system(let call, let errno):
            "\(call) failed: \(Errno(rawValue: errno)) (errno \(errno))"
        case .taskstatsUnavailable(let detail):
            "taskstats is unavailable: \(detail)"
        case .cancelled:
            "cancelled"
        case .kernelWatchersUnavailable(let reason):
            "the kernel-side (BPF) watchers are unavailable: \(reason)"
        }
    }
}
