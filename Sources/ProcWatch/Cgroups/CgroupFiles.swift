#if canImport(Glibc)
import Glibc
#endif

/// Reading and writing the cgroup file system: each call one system call's worth, each
/// failure a ``CgroupError`` naming the path.
enum CgroupFiles {
    /// The whole of a (small) file, or nil when it cannot be opened (no such controller file).
    static func text(_ path: String) -> String? { KernelFacts.readSmallFile(path) }

    /// Writes `value` in one `write` (the cgroup file system takes a value per write).
    static func write(_ path: String, _ value: String) throws(CgroupError) {
        let descriptor = open(path, O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure("open", path, errno) }
        defer { close(descriptor) }
        var bytes = Array(value.utf8)
        var written: Int
        repeat { written = Glibc.write(descriptor, &bytes, bytes.count) } while written < 0 && errno == EINTR
        guard written == bytes.count else { throw failure("write \(value) to", path, written < 0 ? errno : EIO) }
    }

    /// Creates a cgroup directory.
    static func makeDirectory(_ path: String) throws(CgroupError) {
        guard mkdir(path, 0o755) == 0 else { throw failure("mkdir", path, errno) }
    }

    /// The subdirectories' names (child cgroups) of a cgroup directory.
    static func subdirectories(of path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            guard entry.pointee.d_type == UInt8(DT_DIR) else { continue }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    /// The pids in a cgroup (its `cgroup.procs`; empty when it is gone).
    static func processes(in directory: String) -> [Int32] {
        (text(directory + "/cgroup.procs") ?? "").split(separator: "\n").compactMap { Int32($0) }
    }

    static func failure(_ operation: String, _ path: String, _ code: Int32) -> CgroupError {
        code == EACCES || code == EPERM ? .permissionDenied(path: path) : .system(operation: operation, path: path, errno: code)
    }
}
