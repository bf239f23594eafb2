import Logging
import Netlink

/// The loop on the reader thread: receive a batch, decode, check for loss, dispatch.
final class EventReader: @unchecked Sendable {
    // @unchecked: after `run()` starts, everything mutable here is touched only by the reader thread.
    private let session: Session
    private let batch: DatagramBatch
    private let logger: Logger
    private let failed: @Sendable (ProcWatchError) -> Void
    private var loss: LossDetector
    private var generation = 0
    private var subscribers: [EventSubscriber] = []

    init(session: Session, batch: DatagramBatch, logger: Logger, failed: @escaping @Sendable (ProcWatchError) -> Void) {
        self.session = session
        self.batch = batch
        self.logger = logger
        self.failed = failed
        self.loss = LossDetector(
            checksSequence: session.kernelMask.load(ordering: .relaxed) == ProcessEventSource.allEvents,
            initialDropCount: session.transport.droppedMessages())
    }

    func run() {
        session.readerThread.store(ReaderThread.current, ordering: .releasing)
        defer {
            session.close()
            session.finished.signal()
        }
        while !session.stopRequested.load(ordering: .acquiring) {
            let outcome: ReceiveOutcome
            do {
                outcome = try session.transport.receive(into: batch, timeout: nil)
            } catch {
                if session.stopRequested.load(ordering: .acquiring) { return }
                logger.error("procwatch: receiving process events failed: \(error)")
                failed(Handshake.map(error))
                return
            }
            let currentGeneration = session.filterGeneration.load(ordering: .acquiring)
            if currentGeneration != generation {
                generation = currentGeneration
                loss.resetSequences(
                    checksSequence: session.kernelMask.load(ordering: .relaxed) == ProcessEventSource.allEvents)
            }
            subscribers = session.subscribers.withLock { $0 }
            switch outcome {
            case .datagrams(let count):
                let offset = Clocks.unixOffsetNanoseconds()
                for index in 0..<count {
                    ProcEventDecoder.decode(
                        batch.datagram(index), truncated: batch.isTruncated(index), unixOffsetNanoseconds: offset
                    ) { handle($0) }
                }
                // Under a kernel filter there are no usable sequence numbers: a full batch
                // means we are behind, so read the socket's drop counter.
                if !loss.checksSequence, count == batch.capacity { reportDrops(alwaysReport: false) }
            case .overrun:
                reportDrops(alwaysReport: true)
            case .woken, .timedOut:
                continue
            }
        }
    }

    private func handle(_ message: ConnectorMessage) {
        switch message {
        case .event(let event):
            let missing = loss.observe(cpu: event.cpu, sequence: event.sequence)
            if missing > 0 {
                dispatch(lost(count: missing, reason: .sequenceGap, cpu: event.cpu))
            }
            dispatch(event)
        case .acknowledgement(_, _, let cpu, let sequence):
            // Acks (ours or another program's) use the same per-CPU numbers as events.
            _ = loss.observe(cpu: cpu, sequence: sequence)
        case .malformed(let reason):
            logger.warning("procwatch: skipped a malformed kernel message: \(reason)")
            dispatch(lost(count: 1, reason: .malformed, cpu: nil))
        case .overrun:
            reportDrops(alwaysReport: true)
        case .netlinkError(let code):
            logger.warning("procwatch: the kernel sent netlink error \(code) on the connector socket")
        }
    }

    private func reportDrops(alwaysReport: Bool) {
        let dropped = loss.observeDrops(session.transport.droppedMessages())
        if alwaysReport || (dropped ?? 0) > 0 {
            dispatch(lost(count: dropped.flatMap { $0 > 0 ? $0 : nil }, reason: .overflow, cpu: nil))
        }
    }

    private func lost(count: Int?, reason: LossReason, cpu: UInt32?) -> ProcessEvent {
        let now = Clocks.monotonicNanoseconds()
        return ProcessEvent(
            detail: .lost(count: count, reason: reason, cpu: cpu),
            timestamp: EventTimestamp(
                monotonicNanoseconds: now,
                unixNanoseconds: Int64(now) &+ Clocks.unixOffsetNanoseconds()),
            cpu: cpu ?? 0)
    }

    @inline(__always)
    private func dispatch(_ event: ProcessEvent) {
        for subscriber in subscribers where subscriber.kinds.admits(event) {
            subscriber.deliver(event)
        }
    }
}
