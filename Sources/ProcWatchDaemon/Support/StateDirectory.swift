#if canImport(Glibc)
import Glibc
#endif

/// The daemon's state directory: created (with its parents, mode 0755) when missing. The
/// history in it is made readable by root and the daemon's group only (0640): it holds every
/// user's command lines, which the socket shows each user only of their own processes. The
/// directory keeps its mode (it may be a shared one).
enum StateDirectory {
    /// Gives the file at `path` to root and `group` with `mode`.
    static func restrict(_ path: String, mode: mode_t, group: UInt32?) throws(DaemonError) {
        if let group, chown(path, 0, group) != 0 {
            throw .cannotCreate("procwatch: daemon: cannot give \(path) to group \(group): \(String(cString: strerror(errno)))")
        }
        if chmod(path, mode) != 0 {
            throw .cannotCreate("procwatch: daemon: cannot set the mode of \(path): \(String(cString: strerror(errno)))")
        }
    }

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
