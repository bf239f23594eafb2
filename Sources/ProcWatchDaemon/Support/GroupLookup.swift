#if canImport(Glibc)
import Glibc
#endif

/// Groups of this host by name or number (getgrnam_r, the reentrant call: the daemon's
/// threads may look up at once).
enum GroupLookup {
    /// The id of the group `text` names, or nil when there is none. A number is an id as it
    /// is (chown accepts any), a name must be in the group database.
    static func id(of text: String) -> UInt32? {
        if let number = UInt32(text), text.allSatisfy(\.isASCII) { return number }
        var group = Glibc.group()
        var result: UnsafeMutablePointer<Glibc.group>?
        var buffer = [CChar](repeating: 0, count: 4096)
        while true {
            let status = getgrnam_r(text, &group, &buffer, buffer.count, &result)
            if status == ERANGE, buffer.count < 1 << 20 {
                buffer = [CChar](repeating: 0, count: buffer.count * 2)
                continue
            }
            return status == 0 && result != nil ? group.gr_gid : nil
        }
    }
}

extension DaemonSettings {
    /// The id of ``socketGroup`` (nil without one, or if the group was removed since the
    /// settings were read).
    public var socketGroupID: UInt32? { socketGroup.flatMap(GroupLookup.id(of:)) }
}
