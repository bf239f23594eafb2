import CProcWatch
import Glibc
import Netlink

/// Tells whether the kernel's proc connector listener count is above zero.
///
/// A socket bound to the CN_IDX_PROC group that never sent LISTEN receives events exactly
/// while some socket holds the count up. The probe binds one, starts a process, and
/// watches for any event for `window`.
enum ListenerProbe {
    static func kernelIsSending(window: Duration = .milliseconds(300)) throws -> Bool {
        let socket = try NetlinkSocket(netlinkProtocol: NETLINK_CONNECTOR, groups: UInt32(CN_IDX_PROC))
        defer { socket.close() }
        _ = try Spawn.run(["/bin/true"])
        let batch = DatagramBatch(capacity: 8)
        let deadline = ContinuousClock.now + window
        while ContinuousClock.now < deadline {
            if case .datagrams = try socket.receive(into: batch, timeout: deadline - ContinuousClock.now) { return true }
        }
        return false
    }

    /// Polls until nobody listens (the reader sends IGNORE moments after a stream ends).
    static func eventuallyReleased(timeout: Duration = .seconds(3)) throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        repeat {
            if try !kernelIsSending(window: .milliseconds(150)) { return true }
        } while ContinuousClock.now < deadline
        return false
    }
}
