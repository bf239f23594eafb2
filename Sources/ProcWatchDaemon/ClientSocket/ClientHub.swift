#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOPosix
import ProcWatch
import ServiceLifecycle
import Synchronization

/// The daemon's client socket (docs/daemon-protocol.md): accepts clients on a Unix socket,
/// greets each, reads its selection, and streams it the events ``publish(_:)`` hands over,
/// each client filtered by its selection and its ``ClientVisibility``.
///
/// ```swift
/// let hub = ClientHub(settings: ClientHubSettings(socketPath: "/run/procwatch/procwatch.sock"), logger: logger)
/// try await hub.bind()                       // ClientSocketError: one line, exit 64
/// // in a ServiceGroup: `run()` serves until graceful shutdown, then removes the socket
/// hub.publish(batch)                         // from the reader thread, once per kernel batch
/// ```
///
/// Every client lives on one event loop of the hub's own. ``publish(_:)`` costs the
/// caller one `execute`; on the loop each event's contract line is written once, and each
/// client gets the lines it selected in one write. A client whose queue
/// (``ClientHubSettings/queueLimit`` events not yet written to its socket) is full has the
/// events that do not fit dropped, and a `backlog` loss report with their exact count as
/// soon as there is room; nobody else waits for it.
public final class ClientHub: Service, Sendable {
    /// The settings it was made with.
    public let settings: ClientHubSettings
    let logger: Logger
    /// The daemon's process, whose events no client sees.
    let ownPID: Int32
    /// Turns the kernel's SO_PEERCRED triple into the credentials used (tests inject theirs).
    private let credentials: @Sendable (_ pid: Int32, _ uid: UInt32, _ gid: UInt32) -> PeerCredentials

    private let group: MultiThreadedEventLoopGroup
    private let loop: any EventLoop
    private let roster: NIOLoopBoundBox<ClientRoster>
    /// Clients on the roster: `publish` does nothing while there are none.
    private let streaming = Atomic<Int>(0)
    private let refusals = Atomic<Int>(0)
    private let accepted = Atomic<Int>(0)
    private let bound = Mutex<(channel: (any Channel)?, inode: ino_t?)>((nil, nil))
    /// The source the hello names: ``ClientHubSettings/source`` until the daemon's source
    /// started and said which backend it got (``sourceStarted(_:)``).
    private let source: Mutex<String>
    /// The queue bound of clients that connect from now on (a reload may change it).
    private let queueLimit: Atomic<Int>

    /// A hub for `settings` (nothing is bound until ``bind()`` or ``run()``).
    public convenience init(settings: ClientHubSettings, logger: Logger) {
        self.init(settings: settings, logger: logger, ownPID: getpid(),
                  credentials: { PeerCredentials.reading(pid: $0, uid: $1, gid: $2) })
    }

    /// A hub whose clients' credentials come from `credentials` (given the kernel's pid,
    /// uid and gid of each) and which hides `ownPID`'s events: for tests.
    package init(settings: ClientHubSettings, logger: Logger, ownPID: Int32,
                 credentials: @escaping @Sendable (_ pid: Int32, _ uid: UInt32, _ gid: UInt32) -> PeerCredentials) {
        self.settings = settings
        source = Mutex(settings.source)
        queueLimit = Atomic(settings.queueLimit)
        self.logger = logger
        self.ownPID = ownPID
        self.credentials = credentials
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        loop = group.next()
        roster = NIOLoopBoundBox.makeBoxSendingValue(ClientRoster(), eventLoop: loop)
    }

    /// The daemon's source started with this backend (`bpf`, `connector`): the hello of
    /// every client from now on names it.
    public func sourceStarted(_ name: String) { source.withLock { $0 = name } }

    /// Clients that connect from now on get a queue of `limit` events (those connected
    /// keep theirs).
    public func setQueueLimit(_ limit: Int) { queueLimit.store(limit, ordering: .relaxed) }

    /// The queue bound of a client that connects now.
    var currentQueueLimit: Int { queueLimit.load(ordering: .relaxed) }

    /// The settings the hello describes: the ones it was made with, and the source now.
    var helloSettings: ClientHubSettings {
        var current = settings
        current.source = source.withLock { $0 }
        return current
    }

    /// Puts the socket in place: the parent directory made, a stale socket replaced, bound,
    /// its mode and group set. Throws when the path is taken or cannot be used.
    public func bind() async throws(ClientSocketError) {
        let path = SocketPath(path: settings.socketPath)
        try path.prepare()
        let socket: Int32
        do { socket = try ListeningSocket.unix(path: settings.socketPath, backlog: 256) } catch {
            throw .bind(path: settings.socketPath, reason: "\(error)")
        }
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: loop)
                .childChannelOption(.allowRemoteHalfClosure, value: true)
                .childChannelInitializer { [self] channel in attach(channel) }
                .withBoundSocket(socket)
                .get()
        } catch {
            Glibc.close(socket)
            throw .bind(path: settings.socketPath, reason: "\(error)")
        }
        do {
            let inode = try path.applyPermissions(mode: settings.socketMode, group: settings.group)
            bound.withLock { $0 = (channel, inode) }
        } catch {
            try? await channel.close()
            unlink(settings.socketPath)  // the socket just bound, unusable as configured
            throw error
        }
        logger.info("listening on \(settings.socketPath)")
    }

    /// Serves clients (binding first if ``bind()`` was not called) until graceful shutdown or
    /// cancellation; then closes every connection and removes the socket file.
    public func run() async throws {
        if bound.withLock({ $0.channel == nil }) { try await bind() }
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Closes the socket and removes its file, for a hub that will not run (the daemon
    /// failed to start after binding it).
    public func close() async { await shutdown() }

    /// Hands one kernel batch to the clients. Never blocks and never waits for a client:
    /// the caller (the daemon's reader thread) pays one `execute`, nothing when no client
    /// is connected.
    public func publish(_ batch: [EnrichedEvent]) {
        guard !batch.isEmpty, streaming.load(ordering: .relaxed) > 0 else { return }
        let roster = roster
        loop.execute { roster.value.deliver(batch) }
    }

    /// Clients receiving events now.
    public var clientCount: Int { streaming.load(ordering: .relaxed) }

    /// Requests refused since the hub started.
    public var refusedCount: Int { refusals.load(ordering: .relaxed) }

    /// Every client's queue and counts, and the refusals.
    public func snapshot() async -> ClientHubStatus {
        let roster = roster
        let clients = (try? await loop.submit { roster.value.clients.map(\.status) }.get()) ?? []
        return ClientHubStatus(clients: clients, refused: refusedCount)
    }

    // MARK: - On the loop

    /// A new connection: its credentials, its visibility, its handler.
    private func attach(_ channel: any Channel) -> EventLoopFuture<Void> {
        guard let options = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeFailedFuture(ChannelError.operationUnsupported)
        }
        let peerCredentials: EventLoopFuture<KernelPeerCredentials> = options.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
        return peerCredentials.flatMapThrowing { kernel in try self.attach(channel, kernel: kernel) }
    }

    private func attach(_ channel: any Channel, kernel: KernelPeerCredentials) throws {
        let peer = credentials(kernel.pid, kernel.uid, kernel.gid)
        let id = accepted.wrappingAdd(1, ordering: .relaxed).newValue
        let visibility = ClientVisibility(credentials: peer, group: settings.group)
        logger.debug("client \(id) connected: pid \(peer.pid) uid \(peer.uid), visibility \(visibility.name)")
        try channel.pipeline.syncOperations.addHandler(
            ClientSessionHandler(hub: self, id: id, credentials: peer, visibility: visibility))
    }

    /// A client whose selection was accepted joins the roster.
    func admit(_ client: ClientConnection) {
        roster.value.clients.append(client)
        streaming.add(1, ordering: .relaxed)
    }

    /// A client that went away leaves it.
    func dismiss(id: Int) {
        guard let index = roster.value.clients.firstIndex(where: { $0.id == id }) else { return }
        roster.value.clients.remove(at: index).close()
        streaming.subtract(1, ordering: .relaxed)
        logger.debug("client \(id) disconnected")
    }

    /// Counts a refused request and logs it (one line).
    func countRefusal(_ refusal: RequestRefusal, client id: Int, credentials: PeerCredentials) {
        refusals.add(1, ordering: .relaxed)
        logger.notice("client \(id) (pid \(credentials.pid) uid \(credentials.uid)) refused: \(refusal.description)")
    }

    private func shutdown() async {
        let (channel, inode) = bound.withLock { state in
            defer { state = (nil, nil) }
            return state
        }
        try? await channel?.close()
        let roster = roster
        try? await loop.submit {
            for client in roster.value.clients { client.close() }
        }.get()
        if let inode { SocketPath(path: settings.socketPath).remove(ifInode: inode) }
        try? await group.shutdownGracefully()
        // Only a socket it opened: a refused bind is the start's one error line, not two.
        if channel != nil { logger.info("closed \(settings.socketPath)") }
    }
}

/// `struct ucred` (pid_t, uid_t, gid_t), which Glibc shows Swift only under `_GNU_SOURCE`:
/// the same three 32-bit fields in the same order, as SO_PEERCRED writes them.
struct KernelPeerCredentials: Sendable {
    var pid: Int32
    var uid: UInt32
    var gid: UInt32
}

/// The connected clients, on the hub's loop only.
final class ClientRoster {
    var clients: [ClientConnection] = []

    /// One batch to every client: each line written at most once, each client one write.
    func deliver(_ events: [EnrichedEvent]) {
        var batch = EncodedBatch(events)
        for client in clients { client.deliver(&batch) }
    }
}
