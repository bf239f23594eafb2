#if canImport(Glibc)
import Glibc
#endif

/// A lock per recording, held by its recorder while it writes: a report tells a recording
/// in progress (no end yet, lock held) from one cut short (no end, and nobody holds the
/// lock: its recorder died, kill -9 or a power cut).
///
/// An open file description lock (`F_OFD_SETLK`) on one byte of the recording file: the
/// kernel drops it when the recorder's process dies, however it dies, and, unlike a POSIX
/// record lock, not when SQLite closes another descriptor of the same file. Its bytes lie
/// far past SQLite's own lock bytes (at 1 GiB) and past any real file size: nothing is
/// written there.
enum RecordingLock {
    /// The byte locked for recording N is `base + N`.
    static let base: Int64 = 1 << 40
    // From <fcntl.h> with _GNU_SOURCE, which Glibc's module does not define.
    private static let getLock: Int32 = 36  // F_OFD_GETLK
    private static let setLock: Int32 = 37  // F_OFD_SETLK

    /// Takes the lock of `recording`; returns the descriptor that holds it (closing it
    /// releases the lock), or nil when it could not be taken.
    static func take(path: String, recording: Int64) -> Int32? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        var lock = region(recording, type: F_RDLCK)
        guard fcntl(descriptor, setLock, &lock) == 0 else {
            close(descriptor)
            return nil
        }
        return descriptor
    }

    /// Whether a recorder holds the lock of `recording` now.
    static func isHeld(path: String, recording: Int64) -> Bool {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var lock = region(recording, type: F_WRLCK)
        guard fcntl(descriptor, getLock, &lock) == 0 else { return false }
        return lock.l_type != Int16(F_UNLCK)
    }

    private static func region(_ recording: Int64, type: Int32) -> flock {
        var lock = flock()
        lock.l_type = Int16(type)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = __off_t(base + recording)
        lock.l_len = 1
        lock.l_pid = 0  // must be 0 for OFD locks
        return lock
    }
}
