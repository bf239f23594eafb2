#if canImport(Glibc)
import Glibc
#endif

/// Turns the v2 cgroup id the kernel-side watchers take at an exec (`cgroup_id`) into the
/// cgroup's path: the id is the inode number of the cgroup's directory under the v2 mount.
///
/// The mount's directories are read once into a cache, and again when an id is missing
/// (a cgroup made since). An id still missing after that (a cgroup already removed) is
/// remembered, so that a storm of execs in it does not rescan the tree per exec.
///
/// Used by the reader thread only (`@unchecked Sendable`, as ``ProcFS``).
final class CgroupIDResolver: @unchecked Sendable {
    /// Where the v2 hierarchy is mounted (`/sys/fs/cgroup`, or `/sys/fs/cgroup/unified` on a
    /// hybrid host); nil when it is not.
    let mountPoint: String?
    private var paths: [UInt64: String] = [:]
    private var unknown: Set<UInt64> = []

    /// A resolver of the host's v2 mount (found in `/proc/self/mountinfo`), or of `mountPoint`.
    init(mountPoint: String? = CgroupIDResolver.unifiedMount()) {
        self.mountPoint = mountPoint
        rescan()
    }

    /// The path of cgroup `id`, relative to the v2 root (`/` for the root), or nil when no
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

    /// The mount point of the first `cgroup2` file system in `/proc/self/mountinfo`.
    static func unifiedMount() -> String? {
        guard let file = fopen("/proc/self/mountinfo", "r") else { return nil }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line {
            let text = String(cString: line)
            // "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS... - FSTYPE SOURCE SUPER"
            guard let separator = text.firstRange(of: " - ") else { continue }
            let fields = text[..<separator.lowerBound].split(separator: " ")
            let type = text[separator.upperBound...].split(separator: " ").first
            if type == "cgroup2", fields.count > 4 { return String(fields[4]) }
        }
        return nil
    }
}
