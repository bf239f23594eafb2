#if canImport(Glibc)
import Glibc
#endif

/// The socket file's life: made ready before bind (directory, stale socket), given its mode
/// and group after, and removed at shutdown only if it is still the one this daemon bound.
struct SocketPath: Sendable {
    let path: String

    /// `sockaddr_un.sun_path` holds 108 bytes, the terminating NUL included.
    static let maximumLength = 107

    /// Creates the parent directory (0755) if missing and clears a stale socket: one a
    /// killed daemon left, which nobody listens on (connect() gets ECONNREFUSED). A socket
    /// someone listens on, or a file of another type, is left alone and named in the error.
    func prepare() throws(ClientSocketError) {
        guard !path.isEmpty, path.utf8.count <= Self.maximumLength else { throw .pathTooLong(path: path) }
        try makeParentDirectory()
        var status = stat()
        guard lstat(path, &status) == 0 else {
            if errno == ENOENT { return }
            throw .stalePath(path: path, reason: ClientSocketError.reason(errno))
        }
        guard status.st_mode & S_IFMT == S_IFSOCK else { throw .notASocket(path: path) }
        switch probe() {
        case 0: throw .inUse(path: path)
        case ECONNREFUSED:
            guard unlink(path) == 0 || errno == ENOENT else {
                throw .stalePath(path: path, reason: ClientSocketError.reason(errno))
            }
        case let code: throw .stalePath(path: path, reason: ClientSocketError.reason(code))
        }
    }

    /// Sets the bound socket's mode and, with a group, its group; returns its inode, which
    /// ``remove(ifInode:)`` checks at shutdown.
    func applyPermissions(mode: UInt32, group: UInt32?) throws(ClientSocketError) -> ino_t {
        guard chmod(path, mode_t(mode)) == 0 else { throw .permissions(path: path, reason: ClientSocketError.reason(errno)) }
        if let group, chown(path, uid_t.max, gid_t(group)) != 0 {  // uid_t.max: (uid_t)-1, owner unchanged
            throw .permissions(path: path, reason: ClientSocketError.reason(errno))
        }
        var status = stat()
        guard lstat(path, &status) == 0 else { throw .permissions(path: path, reason: ClientSocketError.reason(errno)) }
        return status.st_ino
    }

    /// Removes the socket file if it is still the one bound (a daemon started since, after
    /// this one was thought dead, may have replaced it: its socket stays).
    func remove(ifInode inode: ino_t) {
        var status = stat()
        guard lstat(path, &status) == 0, status.st_ino == inode, status.st_mode & S_IFMT == S_IFSOCK else { return }
        unlink(path)
    }

    /// 0 when connect() to the path succeeds (someone listens), else its errno.
    private func probe() -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return errno }
        defer { close(descriptor) }
        guard var address = ListeningSocket.unixAddress(path) else { return ENAMETOOLONG }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result == 0 ? 0 : errno
    }

    /// `mkdir -p` of the parent, each directory made 0755 (whatever the umask).
    private func makeParentDirectory() throws(ClientSocketError) {
        let components = path.split(separator: "/", omittingEmptySubsequences: true).dropLast()
        var current = path.hasPrefix("/") ? "" : "."
        for component in components {
            current += "/" + component
            if mkdir(current, 0o755) == 0 {
                chmod(current, 0o755)  // mkdir's mode passes through the umask
            } else if errno != EEXIST {
                throw .directory(path: path, reason: "\(current): \(ClientSocketError.reason(errno))")
            }
        }
    }
}
