#if canImport(Glibc)
import Glibc
#endif
import CProcWatch
import Synchronization
import SystemPackage

/// A netlink socket: `socket(AF_NETLINK, SOCK_DGRAM, protocol)` bound to a set of
/// multicast groups, plus an eventfd that lets another thread wake a blocked receive.
package final class NetlinkSocket: NetlinkTransport {
    /// The socket's file descriptor. Stays valid until `close()`.
    package let descriptor: Int32
    private let wakeDescriptor: Int32
    private let closed = Atomic<Bool>(false)

    /// Opens and binds a netlink socket.
    ///
    /// - Parameters:
    ///   - netlinkProtocol: e.g. `NETLINK_CONNECTOR` or `NETLINK_GENERIC`.
    ///   - groups: multicast group bitmask for `bind(2)`, e.g. `CN_IDX_PROC` (1).
    /// - Throws: `NetlinkError` naming `socket`, `bind` or `eventfd`.
    package init(netlinkProtocol: Int32, groups: UInt32 = 0) throws(NetlinkError) {
        let fd = try retryingOnInterrupt("socket") {
            socket(AF_NETLINK, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), netlinkProtocol)
        }
        var address = sockaddr_nl()
        address.nl_family = sa_family_t(AF_NETLINK)
        address.nl_pid = 0  // let the kernel pick a unique port id
        address.nl_groups = groups
        do {
            _ = try retryingOnInterrupt("bind") {
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_nl>.size))
                    }
                }
            }
            wakeDescriptor = try retryingOnInterrupt("eventfd") {
                eventfd(0, Int32(EFD_CLOEXEC) | Int32(EFD_NONBLOCK))
            }
        } catch {
            _ = Glibc.close(fd)
            throw error
        }
        descriptor = fd
    }

    deinit { close() }

    /// Sets the receive buffer, forcing past `rmem_max` with SO_RCVBUFFORCE when allowed
    /// (CAP_NET_ADMIN), and returns the size the kernel actually granted.
    @discardableResult
    package func setReceiveBufferSize(_ bytes: Int) -> Int {
        var value = Int32(clamping: bytes)
        let size = socklen_t(MemoryLayout<Int32>.size)
        if setsockopt(descriptor, SOL_SOCKET, SO_RCVBUFFORCE, &value, size) != 0 {
            _ = setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &value, size)
        }
        return receiveBufferSize
    }

    /// The receive buffer size the kernel reports (twice what was asked: it counts overhead).
    package var receiveBufferSize: Int {
        var value: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &value, &size) == 0 else { return 0 }
        return Int(value)
    }

    /// The port id the kernel assigned at bind.
    package var portID: UInt32 {
        var address = sockaddr_nl()
        var length = socklen_t(MemoryLayout<sockaddr_nl>.size)
        let result = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return result == 0 ? address.nl_pid : 0
    }

    /// `sendto(2)` to the kernel (port 0, no groups).
    package func send(_ message: [UInt8]) throws(NetlinkError) {
        let sent = try retryingOnInterrupt("sendto") {
            message.withUnsafeBytes { bytes in
                Self.withKernelAddress { address, length in
                    sendto(descriptor, bytes.baseAddress, bytes.count, 0, address, length)
                }
            }
        }
        if sent != message.count { throw NetlinkError(call: "sendto", errno: .messageTooLong) }
    }

    /// One `sendto(2)` of `message` to the kernel on `descriptor`, with MSG_DONTWAIT: no
    /// retry, no error, no allocation and no lock, so it is async-signal-safe — for a signal
    /// handler or an `atexit` handler that must still tell the kernel something (the proc
    /// connector's IGNORE) on a socket it only knows by its descriptor.
    ///
    /// - Returns: whether the whole message went out.
    @discardableResult
    package static func sendToKernelFromSignalHandler(descriptor: Int32, _ message: UnsafeRawBufferPointer) -> Bool {
        let sent = withKernelAddress { address, length in
            sendto(descriptor, message.baseAddress, message.count, Int32(MSG_DONTWAIT), address, length)
        }
        return sent == message.count
    }

    /// Calls `body` with the kernel's netlink address (port 0, no groups) as `sendto` takes it.
    @inline(__always)
    private static func withKernelAddress<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        var kernel = sockaddr_nl()
        kernel.nl_family = sa_family_t(AF_NETLINK)
        return withUnsafePointer(to: &kernel) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_nl>.size)) }
        }
    }

    /// Drains with `recvmmsg(MSG_DONTWAIT)` first and only waits when the queue is empty,
    /// so a busy socket costs one syscall per batch and an idle one sleeps in `poll`.
    ///
    /// Adaptive coalescing: while datagrams arrive faster than ``coalescingRate`` per second,
    /// a wait is a fixed pause of ``coalescingPauseNanoseconds`` instead of a `poll` that
    /// would wake for every single datagram. Under a storm that turns thousands of wakeups
    /// per second into one per pause (the buffer holds far more than a pause's worth). At
    /// a low rate nothing changes: an isolated event is delivered at once, except in the
    /// 10 ms window right after a busy one, where it can wait one pause.
    ///
    /// A pause ends early when ``wake()`` is called, and when the doorbell socket set by
    /// ``ringPausesOff(by:)`` becomes readable: datagrams that must not wait (the proc
    /// connector's execs, whose /proc entries vanish within a millisecond) ring it. With
    /// ``setCoalescing(_:)`` off there are no pauses at all.
    package func receive(into batch: DatagramBatch, timeout: Duration?) throws(NetlinkError) -> ReceiveOutcome {
        while true {
            let doorbell = coalescingState.withLock { $0.doorbell }
            batch.resetHeaders()
            let received = procwatch_recvmmsg(descriptor, batch.headers, UInt32(batch.capacity), Int32(MSG_DONTWAIT), nil)
            if received > 0 {
                batch.commitReceived(Int(received))
                coalescingState.withLock { $0.windowCount &+= Int(received) }
                return .datagrams(Int(received))
            }
            if received == -1 {
                switch Glibc.errno {
                case EINTR: continue
                case ENOBUFS: return .overrun
                case EAGAIN: break
                case let code: throw NetlinkError(call: "recvmmsg", errno: Errno(rawValue: code))
                }
            }
            // A caller that only drains (zero timeout) never waits.
            if timeout == .zero { return .timedOut }
            // Busy: over the last window (at least 10 ms) datagrams came faster than
            // `coalescingRate` per second. Decided per window, so a burst of a few events
            // from one short-lived process never makes an idle watcher pause.
            let now = Self.monotonicNanoseconds()
            let busy = coalescingState.withLock { state -> Bool in
                let elapsed = now &- state.windowStart
                if elapsed >= 10_000_000 {
                    state.pausing = state.enabled && Self.exceeds(rate: coalescingRate, count: state.windowCount, in: elapsed)
                    state.windowStart = now
                    state.windowCount = 0
                }
                return state.pausing
            }
            if busy, timeout == nil, coalescingPauseNanoseconds > 0 {
                if try pauseUnlessWoken(doorbell: doorbell) { return .woken }
                continue
            }
            switch try waitReadable(timeout: timeout) {
            case .readable: continue
            case .woken: return .woken
            case .timedOut: return .timedOut
            }
        }
    }

    /// How long a coalescing pause lasts (see `receive`).
    package let coalescingPauseNanoseconds: Int64 = 600_000
    /// Datagrams per second above which the receiver pauses instead of polling. A wakeup
    /// costs a few microseconds: below this rate they cost under 5% of a core.
    package let coalescingRate: Int64 = 10_000

    private struct Coalescing {
        var windowStart: Int64 = 0
        var windowCount = 0
        var pausing = false
        var enabled = true
        /// A socket whose datagrams end a pause at once, or -1.
        var doorbell: Int32 = -1
    }

    /// Turns coalescing pauses on (the default) or off.
    package func setCoalescing(_ enabled: Bool) {
        coalescingState.withLock { state in
            state.enabled = enabled
            if !enabled { state.pausing = false }
        }
    }

    /// Makes a pause end as soon as `doorbell` has a datagram (nil: only ``wake()`` ends
    /// it). The doorbell's datagrams are read and dropped: they only ring. Its owner keeps
    /// it open for as long as it is set.
    package func ringPausesOff(by doorbell: NetlinkSocket?) {
        coalescingState.withLock { $0.doorbell = doorbell?.descriptor ?? -1 }
    }

    /// Reads and drops everything queued on `descriptor`, without waiting.
    private static func empty(_ descriptor: Int32) {
        var scratch: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                      UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        while true {
            let count = withUnsafeMutableBytes(of: &scratch) { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT) | Int32(MSG_TRUNC)) }
            // ENOBUFS: the doorbell overflowed; what is still queued is read on.
            if count < 0, errno != EINTR, errno != ENOBUFS { return }
        }
    }
    /// Touched only by the one thread that receives; in a mutex only to keep the socket
    /// `Sendable` (uncontended: a few nanoseconds).
    private let coalescingState = Mutex(Coalescing())

    /// Whether `count` datagrams in `nanoseconds` come at `rate` per second or faster.
    /// Written so nothing can overflow: an idle window can last for days (a naive
    /// `rate * nanoseconds` trapped after 10.7 days).
    package static func exceeds(rate: Int64, count: Int, in nanoseconds: Int64) -> Bool {
        let (product, overflow) = Int64(count).multipliedReportingOverflow(by: 1_000_000_000 / rate)
        return overflow || product >= nanoseconds
    }

    private static func monotonicNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    /// Waits out the coalescing pause, or less if `doorbell` (when set) rings; true if
    /// `wake()` was called meanwhile.
    private func pauseUnlessWoken(doorbell: Int32) throws(NetlinkError) -> Bool {
        guard doorbell >= 0 else {
            var pause = timespec(tv_sec: 0, tv_nsec: Int(coalescingPauseNanoseconds))
            var remaining = timespec()
            while nanosleep(&pause, &remaining) == -1, Glibc.errno == EINTR { pause = remaining }
            var counter: UInt64 = 0
            return read(wakeDescriptor, &counter, 8) == 8
        }
        var fds = (
            pollfd(fd: doorbell, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0)
        )
        let pause = coalescingPauseNanoseconds
        _ = try retryingOnInterrupt("ppoll") {
            withUnsafeMutableBytes(of: &fds) { procwatch_ppoll($0.baseAddress!.assumingMemoryBound(to: pollfd.self), 2, pause) }
        }
        // Rung: emptied before the socket is read again, so whatever rings it from now on
        // is not in that read and ends the next pause at once (nothing ever waits; at worst
        // one pause ends for an exec that was already read).
        if fds.0.revents != 0 { Self.empty(doorbell) }
        var counter: UInt64 = 0
        return read(wakeDescriptor, &counter, 8) == 8
    }

    private enum WaitResult { case readable, woken, timedOut }

    private func waitReadable(timeout: Duration?) throws(NetlinkError) -> WaitResult {
        let milliseconds: Int32
        if let timeout {
            let (seconds, attoseconds) = timeout.components
            milliseconds = Int32(clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
        } else {
            milliseconds = -1
        }
        // A tuple, not an array: no allocation per wait.
        var fds = (
            pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0)
        )
        let ready = try retryingOnInterrupt("poll") {
            withUnsafeMutableBytes(of: &fds) { poll($0.baseAddress!.assumingMemoryBound(to: pollfd.self), 2, milliseconds) }
        }
        if ready == 0 { return .timedOut }
        if fds.1.revents != 0 {
            var counter: UInt64 = 0
            _ = read(wakeDescriptor, &counter, 8)
            return .woken
        }
        return .readable
    }

    package func wake() {
        guard !closed.load(ordering: .acquiring) else { return }
        var one: UInt64 = 1
        _ = write(wakeDescriptor, &one, 8)
    }

    /// The socket's drop counter (`SK_MEMINFO_DROPS` of `SO_MEMINFO`): messages the
    /// kernel could not queue because the receive buffer was full.
    package func droppedMessages() -> UInt32? {
        var info = [UInt32](repeating: 0, count: 9)  // SK_MEMINFO_VARS
        var length = socklen_t(info.count * 4)
        let result = info.withUnsafeMutableBytes { getsockopt(descriptor, SOL_SOCKET, SO_MEMINFO, $0.baseAddress, &length) }
        guard result == 0, length >= 36 else { return nil }
        return info[8]  // SK_MEMINFO_DROPS
    }

    package func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = Glibc.close(wakeDescriptor)
        _ = Glibc.close(descriptor)
    }
}
