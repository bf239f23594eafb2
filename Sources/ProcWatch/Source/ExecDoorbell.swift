import CProcWatch
import Netlink

/// A second proc connector socket to which the kernel sends execs only (the 6.6+ filter),
/// so that the reader's coalescing pause ends the moment an exec arrives.
///
/// The pause saves the reader thousands of wakeups a second under a fork storm; but a
/// process like `sed` lives well under a millisecond after its exec, and its command line
/// must be read from /proc before it goes. The doorbell keeps both: forks and exits still
/// wait for the pause, an exec never does. It is a listener like any other — LISTEN, its
/// own filter, IGNORE on every way out — and its datagrams are only read to be dropped.
final class ExecDoorbell: Sendable {
    let socket: NetlinkSocket
    private let signalSlot: Int?

    private init(socket: NetlinkSocket, signalSlot: Int?) {
        self.socket = socket
        self.signalSlot = signalSlot
    }

    /// Subscribes a doorbell; nil when the kernel cannot filter (before 6.6, it would ring
    /// for every event) or any step fails (then the reader does without pauses).
    static func open(timeout: Duration) -> ExecDoorbell? {
        guard KernelFacts.hasEventFilter,
              let socket = try? NetlinkSocket(netlinkProtocol: NETLINK_CONNECTOR, groups: UInt32(CN_IDX_PROC)) else { return nil }
        // Registered before LISTEN goes out, so a signal at any moment after it still releases.
        let doorbell = ExecDoorbell(socket: socket, signalSlot: SignalRelease.register(socket.descriptor))
        do throws(ProcWatchError) {
            try Handshake.listen(on: socket, batch: DatagramBatch(capacity: 8, slotSize: 256), timeout: timeout,
                                 signalSlot: doorbell.signalSlot)
            try Handshake.send(SubscriptionRequest.filter(.exec, acknowledgement: 0), on: socket, signalSlot: doorbell.signalSlot)
        } catch {
            doorbell.close()
            return nil
        }
        return doorbell
    }

    /// IGNORE, forget the signal slot, close. Called once.
    func close() { Handshake.releaseAndClose(socket, signalSlot: signalSlot) }
}
