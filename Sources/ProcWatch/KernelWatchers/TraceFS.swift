#if canImport(Glibc)
import Glibc
#endif

/// tracefs, where libbpf finds the id of a syscall tracepoint (`events/syscalls/…/id`) to
/// attach to: systemd mounts it at boot, but a machine without systemd as PID 1 (a VM or a
/// container started by other means) may have none, and then every `syscalls/*` program
/// fails to attach with ENOENT and its kinds fall back to the connector.
enum TraceFS {
    /// Where libbpf looks, in its order.
    static let mountPoints = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]

    /// Whether tracefs is reachable at one of ``mountPoints``.
    static var isMounted: Bool { mountPoints.contains { access($0 + "/events", F_OK) == 0 } }

    /// Mounts tracefs at `/sys/kernel/tracing` when it is nowhere (as `mount -t tracefs
    /// nodev /sys/kernel/tracing` would; it needs CAP_SYS_ADMIN, which loading BPF programs
    /// as root implies). Returns whether procwatch mounted it; a failure leaves things as
    /// they were, and the attach errors then say what is missing (``explanation``).
    @discardableResult
    static func mountIfMissing() -> Bool {
        guard !isMounted else { return false }
        return mount("nodev", mountPoints[0], "tracefs", 0, nil) == 0
    }

    /// What an ENOENT from attaching a tracepoint means when tracefs is not mounted.
    static var explanation: String? {
        isMounted ? nil : "tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing)"
    }
}
