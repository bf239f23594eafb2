import Logging
import Netlink

/// The loop on the reader thread: receive a batch, decode all of it, let the enrichment
/// stage read ahead (execs' /proc first), then check for loss and dispatch in kernel order.
final class EventReader: @unchecked Sendable {
    // @unchecked: after `run()` starts, everything mutable here is touched only by the reader thread.
    private let session: Session
    private let batch: DatagramBatch
    private let logger: Logger
    private let failed: @Sendable (ProcWatchError) -> Void
    private var loss: LossDetector
    private var generation = 0
    private var subscribers: [EventSubscriber] = []
    /// The batch being handled, decoded before any of it is handled (capacity reused).
    private var messages: [ConnectorMessage] = []
    /// The enrichment stage for this batch, when a consumer wants one.
    private var stage: EnrichmentStage?
    /// Kernel times of the latest event, and of the latest batch that held an exec: while
    /// execs come (one within the last 20 ms: a build execs every millisecond or two), the
    /// reader waits with urgency (``ReaderUrgency``); under a storm of forks alone it batches
    /// as before, after at most 20 ms of urgency for the execs that started the storm.
    private var latestEventTime: UInt64 = 0
    private var latestExecTime: UInt64?
    private static let urgencyWindow: UInt64 = 20_000_000
    /// Batches up to this many messages keep the reader's urgency through their handling.
    private static let smallBatch = 16

    private let pendingAfterAck: Range<Int>

    /// - Parameter pendingAfterAck: datagrams of `batch` that arrived after the LISTEN ack
    ///   and are to be delivered before the first receive.
    init(session: Session, batch: DatagramBatch, pendingAfterAck: Range<Int>, logger: Logger,
         failed: @escaping @Sendable (ProcWatchError) -> Void) {
        self.session = session
        self.batch = batch
        self.pendingAfterAck = pendingAfterAck
        self.logger = logger
        self.failed = failed
        self.loss = LossDetector(
            checksSequence: session.kernelMask.load(ordering: .relaxed) == ProcessEventSource.allEvents,
            initialDropCount: session.transport.droppedMessages())
    }

    func run() {
        session.readerThread.store(ReaderThread.current, ordering: .releasing)
        var urgency = ReaderUrgency()
        stage = session.stage.withLock { $0 }
        defer {
            session.close()
            session.finished.signal()
        }
        messages.reserveCapacity(batch.capacity)
        if !pendingAfterAck.isEmpty {
            subscribers = session.subscribers.withLock { $0 }
            handleBatch(pendingAfterAck, readAhead: {})
            endBatch()
        }
        while !session.stopRequested.load(ordering: .acquiring) {
            if stage != nil, let exec = latestExecTime, latestEventTime &- exec < Self.urgencyWindow {
                urgency.beforeWaiting()
            } else {
                urgency.afterReadingAhead()
            }
            let outcome: ReceiveOutcome
            do {
                outcome = try session.transport.receive(into: batch, timeout: nil)
            } catch {
                if session.stopRequested.load(ordering: .acquiring) { return }
                logger.error("receiving process events failed: \(error)")
                failed(Handshake.map(error))
                return
            }
            let currentGeneration = session.filterGeneration.load(ordering: .acquiring)
            if currentGeneration != generation {
                // The filter changed: messages queued under the old one have gaps that are
                // not losses. Sequences count again once the ack of a widening arrives.
                generation = currentGeneration
                loss.resetSequences(checksSequence: false)
            }
            subscribers = session.subscribers.withLock { $0 }
            switch outcome {
            case .datagrams(let count):
                handleBatch(0..<count, readAhead: { urgency.afterReadingAhead() })
                // Under a kernel filter there are no usable sequence numbers: a full batch
                // means we are behind, so read the socket's drop counter.
                if !loss.checksSequence, count == batch.capacity { reportDrops(alwaysReport: false) }
                endBatch()
            case .overrun:
                reportDrops(alwaysReport: true)
                endBatch()
            case .woken, .timedOut:
                continue
            }
        }
    }

    /// Decodes the datagrams of `range` whole, lets the stage read ahead, then handles them;
    /// `readAhead` runs once the stage's /proc reads are done (or at once, without a stage),
    /// for a batch larger than ``smallBatch``: a small one is handled at the urgency it was
    /// read with, in microseconds, so that the exec right behind it never waits for a CPU
    /// hog's slice while the reader is between two reads.
    private func handleBatch(_ range: Range<Int>, readAhead: () -> Void) {
        let offset = Clocks.unixOffsetNanoseconds()
        messages.removeAll(keepingCapacity: true)
        for index in range {
            ProcEventDecoder.decode(
                batch.datagram(index), truncated: batch.isTruncated(index), unixOffsetNanoseconds: offset
            ) { messages.append($0) }
        }
        // Once made, the stage sees every batch, wanted now or not: its table stays current
        // for a consumer that asks for enriched events again later.
        stage = session.stage.withLock { $0 }
        let hasExec = stage?.prepare(messages) ?? false
        if messages.count > Self.smallBatch { readAhead() }
        if case .event(let last) = messages.last {
            latestEventTime = Swift.max(latestEventTime, last.timestamp.monotonicNanoseconds)
            if hasExec { latestExecTime = latestEventTime }
        }
        if let lost = stage?.exitRecordLoss() { dispatch(lost) }
        for index in messages.indices { handle(messages[index], at: index) }
    }

    private func handle(_ message: ConnectorMessage, at index: Int) {
        switch message {
        case .event(let event):
            let missing = loss.observe(cpu: event.cpu, sequence: event.sequence)
            if missing > 0 {
                dispatch(lost(count: missing, reason: .sequenceGap, cpu: event.cpu))
            }
            dispatch(event, at: index)
        case .acknowledgement(_, let acknowledgement, let cpu, let sequence):
            // The ack of a filter change back to everything: what follows is unfiltered,
            // so sequence numbers count again from here.
            if acknowledgement != 0, acknowledgement == session.widenedFilterAck.load(ordering: .acquiring) {
                loss.resetSequences(checksSequence: true)
            }
            // Acks (ours or another program's) use the same per-CPU numbers as events.
            let missing = loss.observe(cpu: cpu, sequence: sequence)
            if missing > 0 { dispatch(lost(count: missing, reason: .sequenceGap, cpu: cpu)) }
        case .malformed(let reason):
            logger.warning("skipped a malformed kernel message: \(reason)")
            dispatch(lost(count: 1, reason: .malformed, cpu: nil))
        case .overrun:
            reportDrops(alwaysReport: true)
        case .netlinkError(let code):
            logger.warning("the kernel sent netlink error \(code) on the connector socket")
        }
    }

    /// An overflow: under a kernel filter the drop counter gives the count; unfiltered, the
    /// sequence gaps that follow give it exactly, so the overflow itself carries none.
    private func reportDrops(alwaysReport: Bool) {
        let dropped = loss.dropsToReport(session.transport.droppedMessages())
        if alwaysReport || (dropped ?? 0) > 0 {
            dispatch(lost(count: dropped.flatMap { $0 > 0 ? $0 : nil }, reason: .overflow, cpu: nil))
        }
    }

    private func lost(count: Int?, reason: LossReason, cpu: UInt32?) -> ProcessEvent {
        ProcessEvent(detail: .lost(count: count, reason: reason, cpu: cpu), timestamp: .now, cpu: cpu ?? 0)
    }

    /// Tells every consumer that this read's events are all delivered (time to flush).
    private func endBatch() { subscribers.endBatch() }

    @inline(__always)
    private func dispatch(_ event: ProcessEvent, at index: Int? = nil) {
        subscribers.dispatch(event, at: index, stage: stage)
    }
}
