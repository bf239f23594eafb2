#if canImport(Glibc)
import Glibc
#endif
import CProcWatch
import Logging

/// The loop on the kernel-side watchers' reader thread: wait for the ring buffer (woken
/// early only once plenty waits, see `emit` in the BPF program), take every record in
/// commit order, report what the programs could not put in the ring, then hand the batch
/// to the enrichment stage and the consumers, as ``EventReader`` does for the connector.
final class RingBufferReader: @unchecked Sendable {
    // @unchecked: after `run()` starts, everything mutable here is touched only by the
    // reader thread (the ring buffer's callback runs inside `ring_buffer__consume` there).
    private let session: KernelWatcherSession
    private let logger: Logger
    private let failed: @Sendable (ProcWatchError) -> Void
    private var subscribers: [EventSubscriber] = []
    private var stage: EnrichmentStage?
    /// The batch being taken from the ring (capacity reused).
    private var messages: [ConnectorMessage] = []
    private var unixOffset: Int64 = 0
    /// The programs' lost counter as last reported.
    private var reportedLost: UInt64 = 0

    init(session: KernelWatcherSession, logger: Logger, failed: @escaping @Sendable (ProcWatchError) -> Void) {
        self.session = session
        self.logger = logger
        self.failed = failed
    }

    func run() {
        session.readerThread.store(ReaderThread.current, ordering: .releasing)
        defer {
            session.close()
            session.finished.signal()
        }
        let libbpf = session.watchers.libbpf.table
        let context = Unmanaged.passUnretained(self).toOpaque()
        guard let ring = libbpf.ring_buffer_new(session.watchers.eventsFD, { context, data, size in
            guard let context, let data else { return 0 }
            let reader = Unmanaged<RingBufferReader>.fromOpaque(context).takeUnretainedValue()
            reader.take(UnsafeRawBufferPointer(start: data, count: size))
            return 0
        }, context, nil) else {
            let error = ProcWatchError.system(call: "ring_buffer__new", errno: errno)
            logger.error("reading the kernel-side watchers failed: \(error)")
            failed(error)
            return
        }
        defer { libbpf.ring_buffer_free(ring) }
        messages.reserveCapacity(256)
        reportedLost = session.watchers.lostCount()
        var waits = [pollfd(fd: session.watchers.eventsFD, events: Int16(POLLIN), revents: 0),
                     pollfd(fd: session.wakeDescriptor, events: Int16(POLLIN), revents: 0)]
        let interval = Int64(session.options.pollInterval.components.seconds) * 1_000_000_000
            + session.options.pollInterval.components.attoseconds / 1_000_000_000
        var stalled = false
        while !session.stopRequested.load(ordering: .acquiring) {
            _ = procwatch_ppoll(&waits, 2, interval)
            if session.stopRequested.load(ordering: .acquiring) { return }
            if waits[1].revents != 0 { session.clearWakeups() }
            if !stalled, let stall = session.options.consumerStall {
                // Tests: a consumer that falls behind (the ring fills, the programs count).
                stalled = true
                var pause = timespec(tv_sec: Int(stall.components.seconds),
                                     tv_nsec: Int(stall.components.attoseconds / 1_000_000_000))
                var remaining = timespec()
                while nanosleep(&pause, &remaining) != 0, errno == EINTR { pause = remaining }
            }
            unixOffset = Clocks.unixOffsetNanoseconds()
            messages.removeAll(keepingCapacity: true)
            let consumed = libbpf.ring_buffer_consume(ring)
            if consumed < 0 {
                let error = ProcWatchError.system(call: "ring_buffer__consume", errno: -consumed)
                logger.error("reading the kernel-side watchers failed: \(error)")
                failed(error)
                return
            }
            subscribers = session.subscribers.withLock { $0 }
            stage = session.stage.withLock { $0 }
            // Counted when a record found no room: reported after the records that did, as
            // the reader only learns of them now.
            let lost = session.watchers.lostCount()
            let standIns = fromConnector()
            if messages.isEmpty, standIns.isEmpty, lost == reportedLost { continue }
            if !standIns.isEmpty { merge(standIns) }
            handleBatch()
            if lost != reportedLost {
                dispatch(ProcessEvent(detail: .lost(count: Int(lost &- reportedLost), reason: .ringBuffer, cpu: nil),
                                      timestamp: .now))
                reportedLost = lost
            }
            subscribers.endBatch()
        }
    }

    /// One record, from inside `ring_buffer__consume`.
    private func take(_ record: UnsafeRawBufferPointer) {
        messages.append(.event(KernelRecordDecoder.decode(record, unixOffsetNanoseconds: unixOffset)))
    }

    /// The events the connector standing in for missing kinds queued, those of processes
    /// this session does not follow left out.
    private func fromConnector() -> [ProcessEvent] {
        guard let fallback = session.fallback.withLock({ $0 }) else { return [] }
        var events = fallback.drain()
        events.removeAll { !session.follows($0) }
        return events
    }

    /// Puts the connector's events among the ring's by kernel timestamp, keeping each
    /// source's own order (the ring's is commit order: a fork before its child's events).
    private func merge(_ standIns: [ProcessEvent]) {
        var merged: [ConnectorMessage] = []
        merged.reserveCapacity(messages.count + standIns.count)
        var next = 0
        for message in messages {
            if case .event(let event) = message {
                while next < standIns.count,
                      standIns[next].timestamp.monotonicNanoseconds < event.timestamp.monotonicNanoseconds {
                    merged.append(.event(standIns[next]))
                    next += 1
                }
            }
            merged.append(message)
        }
        for event in standIns[next...] { merged.append(.event(event)) }
        messages = merged
    }

    /// The stage sees the whole batch first (it reads nothing from /proc for execs that
    /// carry their command line), then each event goes out in commit order.
    private func handleBatch() {
        stage?.prepare(messages)
        for index in messages.indices {
            guard case .event(let event) = messages[index] else { continue }
            dispatch(event, at: index)
        }
    }

    @inline(__always)
    private func dispatch(_ event: ProcessEvent, at index: Int? = nil) {
        subscribers.dispatch(event, at: index, stage: stage)
    }
}
