import Logging
import NIOCore
import ProcWatch
import ProcWatchCLI

/// One client past its selection: what it selected, what it may see, and its queue.
/// Lives on the hub's event loop and is touched nowhere else.
final class ClientConnection {
    let id: Int
    let channel: any Channel
    let credentials: PeerCredentials
    let visibility: ClientVisibility
    private let selection: EventSelection
    /// Its own filter: its trees grow with the forks it sees, whatever other clients follow.
    private var filter: LiveFilter
    private let queueLimit: Int
    private let logger: Logger

    /// Selected events handed to the channel whose write has not completed.
    private(set) var pending = 0
    /// Events dropped since the last `backlog` report it received.
    private var unreported = 0
    private(set) var droppedTotal = 0
    private(set) var delivered = 0
    private var closed = false
    /// The indices of one batch's events it selected (kept to reuse its storage).
    private var selected: [Int] = []

    init(id: Int, channel: any Channel, credentials: PeerCredentials, visibility: ClientVisibility,
         request: ClientRequest, queueLimit: Int, logger: Logger) {
        self.id = id
        self.channel = channel
        self.credentials = credentials
        self.visibility = visibility
        selection = request.selection
        filter = request.filter
        self.queueLimit = queueLimit
        self.logger = logger
    }

    var status: ClientStatus {
        ClientStatus(id: id, pid: credentials.pid, uid: credentials.uid, visibility: visibility,
                     pending: pending, dropped: droppedTotal, delivered: delivered)
    }

    /// Selects the batch's events for this client (every event passes its filter's tree
    /// bookkeeping, selected or not) and writes those that fit its queue in one write.
    func deliver(_ batch: inout EncodedBatch) {
        selected.removeAll(keepingCapacity: true)
        for index in batch.events.indices {
            let enriched = batch.events[index]
            filter.admit(enriched.event)
            if enriched.event.kind == nil || selection.shows(enriched.event), visibility.admits(enriched), filter.matches(enriched) {
                selected.append(index)
            }
            filter.retire(enriched.event)
        }
        guard !closed, !selected.isEmpty else { return }
        let taking = min(selected.count, max(queueLimit - pending, 0))
        let earlier = unreported
        unreported += selected.count - taking
        droppedTotal += selected.count - taking
        guard taking > 0 else { return }
        var buffer: ByteBuffer
        if earlier == 0, taking == batch.events.count {
            buffer = batch.all(allocator: channel.allocator)  // shared by every such client
        } else {
            buffer = channel.allocator.buffer(capacity: taking * 400 + 128)
            if earlier > 0 {
                ProtocolLines.backlog(count: earlier, into: &buffer)
                unreported -= earlier
            }
            for index in selected[..<taking] { batch.append(index, to: &buffer) }
        }
        write(buffer, events: taking)
    }

    /// Sends the `backlog` loss report once the queue has room again.
    private func reportBacklogIfRoom() {
        guard !closed, unreported > 0, pending < queueLimit else { return }
        var buffer = channel.allocator.buffer(capacity: 160)
        ProtocolLines.backlog(count: unreported, into: &buffer)
        unreported = 0
        write(buffer, events: 0)
    }

    private func write(_ buffer: ByteBuffer, events: Int) {
        pending += events
        let promise = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(buffer, promise: promise)
        promise.futureResult.assumeIsolated().whenComplete { result in
            self.pending -= events
            switch result {
            case .success:
                self.delivered += events
                self.reportBacklogIfRoom()
            case .failure(let error):
                // Gone mid-write: drop it; channelInactive takes it off the roster.
                if !self.closed { self.logger.debug("client \(self.id) gone: \(error)") }
                self.close()
            }
        }
    }

    /// Stops writing to it and closes its channel.
    func close() {
        guard !closed else { return }
        closed = true
        channel.close(promise: nil)
    }
}
