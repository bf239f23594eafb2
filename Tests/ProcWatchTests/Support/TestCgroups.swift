import Glibc

/// Cgroups a test makes under the v2 mount (`/sys/fs/cgroup/unified` on this hybrid host) or
/// the v1 `name=systemd` hierarchy, shaped as a runtime would name them. Only directories
/// the test made are removed, deepest first, once their processes have exited.
final class TestCgroups {
    /// The hierarchies a test cgroup is made in.
    enum Hierarchy: String, CaseIterable {
        case unified = "/sys/fs/cgroup/unified"
        case systemd = "/sys/fs/cgroup/systemd"
    }

    private var made: [String] = []

    /// Makes `path` (and the parents it lacks) under `hierarchy`; returns its directory.
    func make(_ path: String, in hierarchy: Hierarchy) throws -> String {
        try make(path, under: hierarchy.rawValue)
    }

    /// Makes `path` (and the parents it lacks) under directory `base` of a cgroup hierarchy
    /// (e.g. the test's own cgroup in a v1 controller's); returns its directory.
    func make(_ path: String, under base: String) throws -> String {
        var directory = base
        for component in path.split(separator: "/") {
            directory += "/" + component
            if mkdir(directory, 0o755) == 0 {
                made.append(directory)
            } else if errno != EEXIST {
                throw TestCgroupError(message: "mkdir \(directory): errno \(errno)")
            }
        }
        return directory
    }

    /// Removes what ``make(_:in:)`` made, deepest first; a cgroup whose last process has just
    /// exited may still be busy for a moment. Returns the directories that could not go.
    @discardableResult
    func removeAll() -> [String] {
        var left: [String] = []
        for directory in made.sorted(by: { $0.count > $1.count }) {
            if !eventually(timeout: .seconds(5), { rmdir(directory) == 0 || errno == ENOENT }) { left.append(directory) }
        }
        made = []
        return left
    }
}

struct TestCgroupError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
