import Netlink
import SystemPackage

/// LISTEN and its acknowledgement, with every way it can fail turned into a clear error.
enum Handshake {
    /// Whatever it throws, the caller sends IGNORE: a LISTEN may have counted.
    ///
    /// Sends LISTEN (the classic 4-byte op, which every kernel answers) and waits for the
    /// kernel's ack carrying our nonce. Other programs' acks and early events are skipped.
    ///
    /// No ack within `timeout` means the kernel ignored us: it does that for requests
    /// from a user or PID namespace other than the initial one, and a kernel built
    /// without CONFIG_PROC_EVENTS has nobody to answer.
    ///
    /// - Returns: the datagrams of `batch` that came after the ack: events the caller must
    ///   still deliver.
    @discardableResult
    static func listen(on transport: any NetlinkTransport, batch: DatagramBatch, timeout: Duration,
                       signalSlot: Int? = nil) throws(ProcWatchError) -> Range<Int> {
        var nonce = UInt32.random(in: 1...0x7FFF_FFFF)
        try send(SubscriptionRequest.operation(.listen, acknowledgement: nonce), on: transport, signalSlot: signalSlot)
        let deadline = Clocks.monotonicNanoseconds() + UInt64(timeout.components.seconds) * 1_000_000_000
            + UInt64(timeout.components.attoseconds / 1_000_000_000)
        while true {
            let now = Clocks.monotonicNanoseconds()
            guard now < deadline else { break }
            let outcome: ReceiveOutcome
            do {
                outcome = try transport.receive(into: batch, timeout: .nanoseconds(Int64(deadline - now)))
            } catch {
                throw map(error)
            }
            switch outcome {
            case .datagrams(let count):
                for index in 0..<count {
                    var result: UInt32?
                    ProcEventDecoder.decode(batch.datagram(index), truncated: batch.isTruncated(index)) { message in
                        if case .acknowledgement(let error, let acknowledgement, _, _) = message,
                           acknowledgement == nonce &+ 1 {
                            result = error
                        }
                    }
                    if let result {
                        guard result == 0 else {
                            throw .subscriptionRejected(errno: Int32(bitPattern: result))
                        }
                        return (index + 1)..<count
                    }
                }
            case .overrun:
                // Our ack may have been among the dropped messages: ask again (a second
                // LISTEN on the same socket does not raise the listener count twice).
                nonce = UInt32.random(in: 1...0x7FFF_FFFF)
                try send(SubscriptionRequest.operation(.listen, acknowledgement: nonce), on: transport, signalSlot: signalSlot)
            case .woken, .timedOut:
                continue
            }
        }
        if KernelFacts.connectorListsProcEvents() == false {
            throw .connectorUnavailable(detail: "/proc/net/connector does not list cn_proc")
        }
        throw .subscriptionIgnored(timeout: timeout)
    }

    /// Best-effort IGNORE, for paths that give up.
    static func release(_ transport: any NetlinkTransport) {
        try? transport.send(SubscriptionRequest.operation(.ignore, acknowledgement: 0))
    }

    /// Ends a subscription for good: no count-raising request may follow, IGNORE goes out,
    /// the signal slot is forgotten and the transport closed. If an exit or signal handler
    /// took the descriptor meanwhile, it is sending IGNORE on it right now: it stays open
    /// (the process is ending) so the number is not reused under the handler's `sendto`.
    static func releaseAndClose(_ transport: any NetlinkTransport, signalSlot: Int?) {
        SignalRelease.beginRelease(slot: signalSlot)
        release(transport)
        if SignalRelease.unregister(slot: signalSlot) || signalSlot == nil { transport.close() }
    }

    /// Sends a count-raising request (LISTEN or a filter) that no IGNORE may overtake
    /// (see ``SignalRelease/sendRaising(slot:_:)``).
    static func send(_ message: [UInt8], on transport: any NetlinkTransport, signalSlot: Int?) throws(ProcWatchError) {
        do throws(NetlinkError) {
            try SignalRelease.sendRaising(slot: signalSlot) { () throws(NetlinkError) in try transport.send(message) }
        } catch {
            throw map(error)
        }
    }

    /// Turns a failed syscall on the connector socket into the error a user can act on.
    static func map(_ error: NetlinkError) -> ProcWatchError {
        switch error.errno {
        case .connectionRefused:
            return .otherNetworkNamespace
        case .notPermitted, .permissionDenied:
            return .permissionDenied(operation: "\(error.call) on the proc connector socket", capability: "CAP_NET_ADMIN")
        case .protocolNotSupported, .addressFamilyNotSupported, .noSuchFileOrDirectory:
            return .connectorUnavailable(detail: "\(error.call): \(error.errno)")
        default:
            return .system(call: error.call, errno: error.errno.rawValue)
        }
    }
}
