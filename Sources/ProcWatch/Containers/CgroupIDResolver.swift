#if canImport(Glibc)
import Glibc
#endif

/// Turns a cgroup id the kernel-side watchers take at an exec into the cgroup's path in its
/// hierarchy: the id is the inode number of the cgroup's directory under the hierarchy's
/// mount (v2, or a v1 one: see ``CgroupHierarchies``).
///
/// The mount's directories are read once into a cache, and again when an id is missing
/// (a cgroup made since). An id still missing after that (a cgroup already removed) is
/// remembered, so that a storm of execs in it does not rescan the tree per exec.
///
/// Used by the reader thread only (`@unchecked Sendable`, as ``ProcFS``).
final class CgroupIDResolver: @unchecked Sendable {
    /// Where the hierarchy's root is mounted (v2: `/sys/fs/cgroup`, or `/sys/fs/cgroup/unified`
    /// on a hybrid host; v1: `/sys/fs/cgroup/memory`, `/sys/fs/cgroup/systemd`, …).
    let mountPoint: String?
    private var paths: [UInt64: String] = [:]
    private var unknown: Set<UInt64> = []

    /// A resolver of the hierarchy mounted at `mountPoint`.
    init(mountPoint: String?) {
        self.mountPoint = mountPoint
        rescan()
    }

    /// The path of cgroup `id`, relative to the hierarchy's root (`/` for the root), or nil when no
    /// cgroup under the mount has that id.
    func path(of id: UInt64) -> String? {
        if let path = paths[id] { return path }
        guard !unknown.contains(id) else { return nil }
        rescan()
        if let path = paths[id] { return path }
        // Bounded: ids of removed cgroups are not kept for ever.
        if unknown.count >= 4096 { unknown.removeAll(keepingCapacity: true) }
        unknown.insert(id)
        return nil
    }

    private func rescan() {
        guard let mountPoint else { return }
        paths.removeAll(keepingCapacity: true)
        unknown.removeAll(keepingCapacity: true)
        walk(mountPoint, relative: "/")
    }

    private func walk(_ directory: String, relative: String) {
        var info = stat()
        guard stat(directory, &info) == 0 else { return }
        paths[UInt64(info.st_ino)] = relative
        guard let handle = opendir(directory) else { return }
        defer { closedir(handle) }
        while let entry = readdir(handle) {
            guard entry.pointee.d_type == UInt8(DT_DIR) else { continue }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            walk(directory + "/" + name, relative: relative == "/" ? "/" + name : relative + "/" + name)
        }
    }
}
