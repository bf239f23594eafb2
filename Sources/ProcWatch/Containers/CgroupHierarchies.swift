#if canImport(Glibc)
import Glibc
#endif

/// The cgroup that stands for a process (``CgroupMembership``) as the kernel-side watchers
/// name it at an exec: by id, in any hierarchy, v1 ones included.
package enum AttributedCgroupID: Sendable, Hashable {
    /// The process is in the root cgroup of every hierarchy: its path is `/`.
    case roots
    /// Cgroup `id` (the inode number of its directory) of hierarchy `hierarchy`
    /// (`/proc/PID/cgroup`'s first field; 0 is v2).
    case cgroup(hierarchy: UInt32, id: UInt64)
}

/// Turns ``AttributedCgroupID``s into paths: one ``CgroupIDResolver`` per hierarchy, made at
/// the first id of that hierarchy, over the mount of the hierarchy's root found in
/// `/proc/self/mountinfo`. An id resolved once is never read again: a storm of execs in one
/// cgroup reads neither /proc nor the hierarchy after its first.
///
/// The kernel side picks, among v1 hierarchies, the one with the highest id, because
/// `/proc/PID/cgroup` lists them newest first; ``followsProcOrder`` is whether this host's
/// listing does (checked on `/proc/self/cgroup`). When it does not, or a hierarchy is not
/// mounted from its root, ``path(of:)`` answers nil and the caller reads /proc as before.
///
/// Used by the reader thread only (`@unchecked Sendable`, as ``CgroupIDResolver``).
final class CgroupHierarchies: @unchecked Sendable {
    /// Where each hierarchy's root is mounted, by hierarchy id.
    let mountPoints: [UInt32: String]
    /// Whether `/proc/PID/cgroup` lists v1 hierarchies by decreasing id, as the kernel side assumes.
    let followsProcOrder: Bool
    private var resolvers: [UInt32: CgroupIDResolver] = [:]

    /// The host's hierarchies, from `/proc/self/cgroup` and `/proc/self/mountinfo`.
    convenience init() {
        self.init(procCgroup: CgroupFiles.text("/proc/self/cgroup") ?? "", mountInfo: CgroupFiles.text("/proc/self/mountinfo") ?? "")
    }

    /// The hierarchies of a `/proc/PID/cgroup` text and the cgroup mounts of a mountinfo text.
    init(procCgroup: String, mountInfo: String) {
        let mounts = CgroupLayout.mounts(in: mountInfo)
        var points: [UInt32: String] = [:]
        var previous = UInt32.max
        var ordered = true
        for line in procCgroup.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, let hierarchy = UInt32(parts[0]) else { continue }
            if hierarchy == 0 {
                points[0] = mounts.first { $0.isV2 && $0.root == "/" }?.mountPoint
                continue
            }
            if hierarchy >= previous { ordered = false }
            previous = hierarchy
            let controllers = parts[1].split(separator: ",")
            guard !controllers.isEmpty else { continue }
            points[hierarchy] = mounts.first { mount in
                !mount.isV2 && mount.root == "/" && controllers.allSatisfy { mount.controllers.contains(String($0)) }
            }?.mountPoint
        }
        mountPoints = points
        followsProcOrder = ordered
    }

    /// The path of `cgroup` relative to its hierarchy's root (`/` for the roots), or nil when
    /// it cannot be told here: the caller reads `/proc/PID/cgroup`.
    func path(of cgroup: AttributedCgroupID) -> String? {
        switch cgroup {
        case .roots: return "/"
        case .cgroup(let hierarchy, let id):
            // A v1 choice follows /proc's order only where the host lists hierarchies so.
            guard hierarchy == 0 || followsProcOrder else { return nil }
            return resolver(of: hierarchy)?.path(of: id)
        }
    }

    /// The path of v2 cgroup `id`, or nil when it is not known.
    func unifiedPath(of id: UInt64) -> String? { resolver(of: 0)?.path(of: id) }

    private func resolver(of hierarchy: UInt32) -> CgroupIDResolver? {
        if let resolver = resolvers[hierarchy] { return resolver }
        guard let mountPoint = mountPoints[hierarchy] else { return nil }
        let resolver = CgroupIDResolver(mountPoint: mountPoint)
        resolvers[hierarchy] = resolver
        return resolver
    }
}
