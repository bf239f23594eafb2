#if canImport(Glibc)
import Glibc
#endif

/// Who is at the other end of a client connection: the kernel's SO_PEERCRED (the
/// connecting process's pid, real uid and primary gid at connect()) and that process's
/// supplementary groups.
public struct PeerCredentials: Sendable, Equatable {
    /// The connecting process.
    public var pid: Int32
    /// Its real uid.
    public var uid: UInt32
    /// Its primary group.
    public var gid: UInt32
    /// Its supplementary groups; empty when they could not be read (then only ``gid``
    /// can make it a member of the configured group).
    public var groups: [UInt32]

    /// Credentials as given (tests, and the daemon's reader below).
    public init(pid: Int32, uid: UInt32, gid: UInt32, groups: [UInt32] = []) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
        self.groups = groups
    }

    /// Whether the process holds `group`, as its primary or a supplementary group.
    public func isMember(of group: UInt32) -> Bool { gid == group || groups.contains(group) }

    /// Completes the kernel's SO_PEERCRED triple with the process's supplementary groups,
    /// from the `Groups:` line of `/proc/<pid>/status`.
    ///
    /// Why /proc and not getgrouplist(3) of the uid's user: /proc gives the groups the
    /// process actually holds (what `setpriv --groups`, `sg` or a login gave it, and what the
    /// kernel itself checks against the socket file's group), with no NSS lookup — an LDAP
    /// or sssd call could block the one event loop every client shares. The pid may have
    /// exited and been reused by the time it is read: the line is taken only if the same
    /// `Uid:` is still the real uid there, else the groups stay empty (fail closed: the
    /// client then sees only its own processes, unless its primary gid is the group).
    static func reading(pid: Int32, uid: UInt32, gid: UInt32, procRoot: String = "/proc") -> PeerCredentials {
        var credentials = PeerCredentials(pid: pid, uid: uid, gid: gid)
        guard pid > 0, let status = readSmallFile("\(procRoot)/\(pid)/status") else { return credentials }
        var realUID: UInt32?
        var groups: [UInt32]?
        for line in status.split(separator: "\n") {
            if line.hasPrefix("Uid:") {
                realUID = line.dropFirst(4).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { UInt32($0) }
            } else if line.hasPrefix("Groups:") {
                groups = line.dropFirst(7).split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { UInt32($0) }
            }
        }
        if realUID == uid, let groups { credentials.groups = groups }
        return credentials
    }

    /// A /proc file's text (they report size 0: read until EOF), or nil.
    private static func readSmallFile(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
