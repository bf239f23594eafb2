#if canImport(Glibc)
import Glibc
#endif
import CProcWatch

/// A dedicated OS thread for the socket reader.
///
/// Events arrive at up to tens of thousands per second; a thread of its own that
/// blocks in `poll`/`recvmmsg` keeps up without borrowing the cooperative pool.
package enum ReaderThread {
    private final class Box {
        let name: String
        let body: () -> Void
        init(name: String, _ body: @escaping () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Starts `body` on a new detached thread named `name` (at most 15 bytes shown).
    static func spawn(name: String, _ body: @escaping @Sendable () -> Void) throws(ProcWatchError) {
        let box = Unmanaged.passRetained(Box(name: String(name.prefix(15)), body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.name.withCString { procwatch_set_thread_name($0) }
            box.body()
            return nil
        }, box)
        guard result == 0 else {
            Unmanaged<Box>.fromOpaque(box).release()
            throw .system(call: "pthread_create", errno: result)
        }
        pthread_detach(thread)
    }

    /// Runs blocking work on a thread of its own and awaits its result, so that it does not
    /// hold one of the cooperative pool's few threads.
    package static func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            do {
                try spawn(name: "procwatch-start") { continuation.resume(returning: body()) }
            } catch {
                continuation.resume(returning: body())
            }
        }
    }

    /// Asks the scheduler to run the calling thread as soon as it wakes: a 0.1 ms slice
    /// (Linux 6.12+ EEVDF; ignored before). The reader sleeps almost always and works for
    /// microseconds when an event comes, and what it must do first — read /proc for an exec
    /// — cannot wait for a CPU hog's slice to end: the processes of a build live well under
    /// a millisecond. Unlike real-time priority, this needs no privilege and cannot starve
    /// anything (a thread that runs long is still scheduled fairly).
    static func requestShortSlice() {
        errno = 0
        let nice = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        _ = procwatch_request_slice(100_000, errno == 0 ? nice : 0)
    }

    /// The calling thread, as an integer that `isCurrent` can compare.
    static var current: UInt { UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(bitPattern: pthread_self()))) }

    /// Whether `thread` (from `current`) is the calling thread.
    static func isCurrent(_ thread: UInt) -> Bool { thread != 0 && thread == current }
}
