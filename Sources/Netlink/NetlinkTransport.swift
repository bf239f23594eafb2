/// What one wait-and-receive on a netlink transport produced.
package enum ReceiveOutcome: Sendable, Equatable {
    /// The batch holds this many datagrams (at least one).
    case datagrams(Int)
    /// The socket's receive queue overflowed (ENOBUFS): the kernel dropped messages.
    /// Messages still queued are read by the next receive.
    case overrun
    /// `wake()` was called: the reader should check whether it has to stop.
    case woken
    /// Nothing arrived within the timeout.
    case timedOut
}

/// The operations the event source needs from a netlink socket.
///
/// `NetlinkSocket` is the real one; tests provide their own to play the kernel:
/// feed golden datagrams, answer a LISTEN with an ack, report an overrun.
package protocol NetlinkTransport: AnyObject, Sendable {
    /// Sends one message to the kernel (port 0).
    func send(_ message: [UInt8]) throws(NetlinkError)
    /// Waits up to `timeout` (forever when nil) for datagrams, then receives as many
    /// as `batch` holds without blocking again.
    func receive(into batch: DatagramBatch, timeout: Duration?) throws(NetlinkError) -> ReceiveOutcome
    /// Makes a waiting or the next `receive` return `.woken`. Safe from any thread.
    func wake()
    /// Messages the kernel dropped for this socket so far, when it tells (SO_MEMINFO).
    func droppedMessages() -> UInt32?
    /// Closes the transport. Idempotent.
    func close()
}
