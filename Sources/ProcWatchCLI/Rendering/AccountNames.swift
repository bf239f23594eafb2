#if canImport(Glibc)
import Glibc
#endif

/// User and group names by id, looked up once each (getpwuid_r / getgrgid_r) and cached.
package final class AccountNames {
    /// An empty cache.
    package init() {}

    private var users: [UInt32: String] = [:]
    private var groups: [UInt32: String] = [:]

    package func user(_ uid: UInt32) -> String {
        if let name = users[uid] { return name }
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        let name = getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0 && result != nil
            ? String(cString: entry.pw_name) : String(uid)
        users[uid] = name
        return name
    }

    func group(_ gid: UInt32) -> String {
        if let name = groups[gid] { return name }
        var entry = SwiftGlibc.group()
        var result: UnsafeMutablePointer<SwiftGlibc.group>?
        var buffer = [CChar](repeating: 0, count: 4096)
        let name = getgrgid_r(gid, &entry, &buffer, buffer.count, &result) == 0 && result != nil
            ? String(cString: entry.gr_name) : String(gid)
        groups[gid] = name
        return name
    }

    /// A user given as a name or a number, or nil when no such user exists.
    package static func uid(of user: String) -> UInt32? {
        if let number = UInt32(user) { return number }
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwnam_r(user, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return entry.pw_uid
    }
}
