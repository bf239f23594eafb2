#if canImport(Glibc)
import Glibc
#endif

/// The daemon's state directory: created (with its parents, mode 0755) when missing.
enum StateDirectory {
    /// Creates `path` and its missing parents; throws the one line that says why not.
    static func prepare(_ path: String) throws(DaemonError) {
        var built = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            built += "/" + component
            if mkdir(built, 0o755) != 0, errno != EEXIST {
                throw .cannotCreate("procwatch: daemon: cannot create the state directory \(path): \(String(cString: strerror(errno)))")
            }
        }
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else {
            throw .cannotCreate("procwatch: daemon: the state directory \(path) is not a directory")
        }
        guard access(path, W_OK | X_OK) == 0 else {
            throw .cannotCreate("procwatch: daemon: the state directory \(path) is not writable: \(String(cString: strerror(errno)))")
        }
    }
}
