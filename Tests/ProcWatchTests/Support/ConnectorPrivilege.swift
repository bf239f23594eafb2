import Glibc
@testable import ProcWatch

/// What this kernel asks of a proc connector listener. Kernels differ: some let any user
/// bind the connector's multicast group, others (as the 6.18 machines of stop 17's CI)
/// want CAP_NET_ADMIN, in a user namespace too. The tests that drop privileges assert the
/// exact outcome of the kernel they run on.
enum ConnectorPrivilege {
    /// Whether user nobody (no capabilities) may bind and subscribe: asked of the kernel
    /// by `procwatch --source connector` itself, once per test run.
    static let unprivilegedMayListen: Bool = {
        let probe = try? Spawn.capture(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                        Spawn.procwatchBinary, "--source", "connector", "-q", "-D", "0.2"])
        return probe?.status == 0
    }()

    /// Whether a user namespace's root may bind (where it may, the kernel ignores its LISTEN).
    static let userNamespaceMayBind: Bool = {
        let probe = try? Spawn.capture(["unshare", "--user", "--map-root-user", Spawn.procwatchBinary,
                                        "--source", "connector", "-q", "-D", "0.2"])
        return !(probe?.stderr.contains("bind on the proc connector socket was refused") ?? true)
    }()

    /// The kernel's refusal of a bind, as procwatch words it.
    static let bindRefusal = ProcWatchError.permissionDenied(
        operation: "bind on the proc connector socket", capability: "CAP_NET_ADMIN").description
    /// The live view's error line where a bind is refused.
    static let bindRefused = "procwatch: \(bindRefusal)\n"
}
