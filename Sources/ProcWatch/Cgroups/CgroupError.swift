import SystemPackage

/// Why a job's cgroup could not be set up, limited, read or removed. Each description is one line.
public enum CgroupError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Neither a v1 hierarchy nor the v2 one offers the controller a limit needs.
    case noController(CgroupController)
    /// The kernel refused to create, write or remove a cgroup file for lack of privilege.
    case permissionDenied(path: String)
    /// The kernel did not accept a limit (e.g. a memory limit below what the cgroup holds).
    case limitNotAccepted(path: String, value: String, errno: Int32)
    /// Another file operation on the cgroup file system failed.
    case system(operation: String, path: String, errno: Int32)
    /// Processes were still in the cgroup after every one of them was killed (or, when
    /// `killed` is false, moved out).
    case notEmptied(path: String, remaining: Int, killed: Bool)

    public var description: String {
        switch self {
        case .noController(let controller):
            "no cgroup \(controller.rawValue) controller: neither a cgroup v1 hierarchy nor cgroup v2 offers it here"
        case .permissionDenied(let path):
            "cannot set up a cgroup: permission denied on \(path) (run as root, or in a cgroup delegated to this user)"
        case .limitNotAccepted(let path, let value, let errno):
            "the kernel did not accept \(value) for \(path): \(Errno(rawValue: errno))"
        case .system(let operation, let path, let errno):
            "\(operation) \(path) failed: \(Errno(rawValue: errno))"
        case .notEmptied(let path, let remaining, let killed):
            "cannot remove \(path): \(remaining) processes are still in it after \(killed ? "SIGKILL" : "moving them to its parent")"
        }
    }
}
