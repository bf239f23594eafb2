import SystemPackage

/// A failed netlink system call, with the call's name and the `errno` it set.
package struct NetlinkError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The system call that failed, e.g. `"bind"`.
    package var call: String
    /// The error number the kernel returned.
    package var errno: Errno

    package init(call: String, errno: Errno) {
        self.call = call
        self.errno = errno
    }

    package var description: String { "\(call): \(errno) (errno \(errno.rawValue))" }
}
