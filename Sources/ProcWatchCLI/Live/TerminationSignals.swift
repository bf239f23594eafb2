#if canImport(Glibc)
import Glibc
#endif
import Dispatch

/// SIGINT and SIGTERM as a request to stop, with no moment at which either is lost.
///
/// `SIG_IGN` plus a dispatch signal source leaves a window (the source installs its handler
/// asynchronously) in which the signal is simply ignored and the watch never ends. Here a
/// handler is in place from the first instant: it writes a byte to a pipe, which keeps it
/// until a read source (registered whenever) picks it up. Async-signal-safe: one `write`.
enum TerminationSignals {
    nonisolated(unsafe) private static var writeEnd: Int32 = -1
    nonisolated(unsafe) private static var readEnd: Int32 = -1
    private static let installed: Bool = {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { return false }
        for end in ends {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, O_NONBLOCK)
        }
        readEnd = ends[0]
        writeEnd = ends[1]
        for signal in [SIGINT, SIGTERM] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { _ in
                let saved = errno
                var byte: UInt8 = 1
                _ = write(TerminationSignals.writeEnd, &byte, 1)
                errno = saved
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = Int32(SA_RESTART)
            sigaction(signal, &action, nil)
        }
        return true
    }()

    /// Installs the handlers (once per process) and calls `stop.fire()` when either signal
    /// arrives. Cancel the returned source when the watch is over.
    static func watch(_ stop: StopSignal) -> DispatchSourceRead? {
        // Without the pipe, the signals keep their default action (the library then
        // releases the subscription from its own handler).
        guard installed else { return nil }
        // A signal left over from an earlier watch in this process must not end this one.
        var stale = [UInt8](repeating: 0, count: 64)
        while read(readEnd, &stale, stale.count) > 0 {}
        let source = DispatchSource.makeReadSource(fileDescriptor: readEnd)
        source.setEventHandler {
            var drain = [UInt8](repeating: 0, count: 64)
            _ = read(readEnd, &drain, drain.count)
            stop.fire()
        }
        source.resume()
        return source
    }
}
