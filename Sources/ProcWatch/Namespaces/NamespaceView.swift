#if canImport(Glibc)
import Glibc
#endif

/// Where procwatch finds itself: in the machine's initial namespaces, or in a container's
/// or an `unshare`'s — which decides what the kernel's sources can show it.
///
/// Comparing `/proc/self/ns/*` with `/proc/1/ns/*` is not enough: inside a pid namespace
/// with its own /proc, pid 1 is the namespace's init. The initial user and pid namespaces
/// have fixed inode numbers instead (`PROC_USER_INIT_INO`, `PROC_PID_INIT_INO` in
/// `include/linux/proc_ns.h`), and the user namespace's `uid_map` says how it maps ids.
/// The initial network namespace has no fixed number: it is told from pid 1's, which is the
/// machine's init unless a pid namespace hides it (and the connector's ECONNREFUSED tells).
public struct NamespaceView: Sendable, Hashable {
    /// The `uid_map` of a user namespace other than the initial one (`0 1000 1`), one
    /// line's fields joined by spaces; nil in the initial user namespace.
    public var userMap: String?
    /// Whether procwatch runs in a pid namespace other than the initial one: the kernel's
    /// sources then name processes by the initial namespace's pids, which this namespace's
    /// /proc does not know.
    public var isNestedPIDNamespace: Bool
    /// Whether its network namespace differs from pid 1's (the connector then refuses LISTEN).
    public var isOtherNetworkNamespace: Bool

    /// Creates a view.
    public init(userMap: String? = nil, isNestedPIDNamespace: Bool = false, isOtherNetworkNamespace: Bool = false) {
        self.userMap = userMap
        self.isNestedPIDNamespace = isNestedPIDNamespace
        self.isOtherNetworkNamespace = isOtherNetworkNamespace
    }

    /// `PROC_USER_INIT_INO`: the initial user namespace's inode number.
    static let initialUserNamespace: UInt64 = 0xEFFF_FFFD
    /// `PROC_PID_INIT_INO`: the initial pid namespace's inode number.
    static let initialPIDNamespace: UInt64 = 0xEFFF_FFFC

    /// The initial network namespace's fixed inode number on recent kernels (6.18 here:
    /// `PROC_NET_INIT_INO`); older ones number it at boot, and the connector's ECONNREFUSED tells.
    static let initialNetworkNamespace: UInt64 = 0xEFFF_FFF9

    /// The namespaces of the calling process, as /proc shows them now.
    public static var current: NamespaceView {
        var view = NamespaceView()
        if let user = inode("/proc/self/ns/user"), user != initialUserNamespace {
            view.userMap = userMap(ProcFS().read("/proc/self/uid_map").map { String(decoding: $0, as: UTF8.self) } ?? "")
        }
        if let pid = inode("/proc/self/ns/pid") { view.isNestedPIDNamespace = pid != initialPIDNamespace }
        if let net = inode("/proc/self/ns/net") {
            // pid 1's link may be refused from another network namespace (EACCES, seen as
            // root on 6.18): then the fixed number the initial one has on such kernels tells.
            view.isOtherNetworkNamespace = net != (inode("/proc/1/ns/net") ?? initialNetworkNamespace)
        }
        return view
    }

    /// The first line of a `uid_map` with its fields joined by single spaces (`0 1000 1`);
    /// "unmapped" when it has none (a user namespace whose map was never written).
    static func userMap(_ text: String) -> String {
        guard let line = text.split(separator: "\n").first else { return "unmapped" }
        return line.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }

    /// Whether the kernel ignores a connector LISTEN from here (no ack): from a user or pid
    /// namespace other than the initial one.
    public var connectorIgnoresListen: Bool { userMap != nil || isNestedPIDNamespace }

    /// The namespace in a few words, for the source line: `in a user namespace (uid_map
    /// 0 1000 1)`, `in a pid namespace of its own`, `in a network namespace of its own`;
    /// nil in the initial ones.
    public var summary: String? {
        var parts: [String] = []
        if let userMap { parts.append("a user namespace (uid_map \(userMap))") }
        if isNestedPIDNamespace { parts.append("a pid namespace of its own") }
        if isOtherNetworkNamespace { parts.append("a network namespace of its own") }
        guard !parts.isEmpty else { return nil }
        return "in " + parts.joined(separator: " and ")
    }

    private static func inode(_ path: String) -> UInt64? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return UInt64(info.st_ino)
    }
}
