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
    package static func spawn(name: String, _ body: @escaping @Sendable () -> Void) throws(ProcWatchError) {
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

    /// The calling thread, as an integer that `isCurrent` can compare.
    static var current: UInt { UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(bitPattern: pthread_self()))) }

    /// Whether `thread` (from `current`) is the calling thread.
    static func isCurrent(_ thread: UInt) -> Bool { thread != 0 && thread == current }
}
