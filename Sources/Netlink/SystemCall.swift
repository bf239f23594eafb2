#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// Runs a system call that reports failure as -1 and `errno`, retrying on EINTR.
///
/// Every syscall in this module goes through here so that signal interruptions
/// (the CLI handles SIGINT and SIGTERM) are retried in exactly one place.
@inline(__always)
package func retryingOnInterrupt<T: FixedWidthInteger>(
    _ call: String, _ body: () -> T
) throws(NetlinkError) -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = Glibc.errno
        if code == EINTR { continue }
        throw NetlinkError(call: call, errno: Errno(rawValue: code))
    }
}
