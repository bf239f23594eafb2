import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix
import ProcWatch
import ServiceLifecycle
import Synchronization

/// The Prometheus endpoint: a minimal HTTP/1.1 server on a loopback address serving
/// `GET /metrics` from a ``DaemonMetrics``.
///
/// Binding is a step of its own, before the service group runs, so that the daemon can say
/// at once why it cannot serve (a port taken, an address that is not loopback) and exit 64,
/// and so that a test that binds port 0 learns the ``port``.
///
/// ```swift
/// let endpoint = try await MetricsEndpoint.bind(MetricsAddress(parsing: "127.0.0.1:9464"), metrics: metrics)
/// let group = ServiceGroup(services: [endpoint, …], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
///
/// ``run()`` serves until the service group shuts down gracefully (or its task is
/// cancelled): it stops listening, closes the open connections and returns. An endpoint
/// that is bound but never run must be ``close()``d.
public final class MetricsEndpoint: Service, Sendable {
    /// The address it listens on, with the port the kernel chose for port 0.
    public let address: MetricsAddress
    private let listener: any Channel
    /// The accepted connections still open, closed on shutdown (keep-alive connections
    /// would otherwise outlive the listener).
    private let connections: ConnectionTable

    /// The port it listens on.
    public var port: Int { address.port }

    private init(address: MetricsAddress, listener: any Channel, connections: ConnectionTable) {
        self.address = address
        self.listener = listener
        self.connections = connections
    }

    /// Listens on `address`, serving `metrics`, on `group`'s event loops.
    public static func bind(_ address: MetricsAddress, metrics: DaemonMetrics,
                            group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton)
    async throws(MetricsEndpointError) -> MetricsEndpoint {
        let connections = ConnectionTable()
        let bootstrap = ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                connections.track(channel)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(metrics: metrics))
                }
            }
        let listener: any Channel
        do {
            let socket = try ListeningSocket.tcp(host: address.host, port: address.port, backlog: 16)
            do { listener = try await bootstrap.withBoundSocket(socket).get() } catch {
                Glibc.close(socket)
                throw error
            }
        } catch let error as ListeningSocketError {
            throw .cannotListen(address: address.description, reason: error.description)
        } catch {
            throw .cannotListen(address: address.description, reason: Self.reason(error))
        }
        var bound = address
        bound.port = listener.localAddress?.port ?? address.port
        return MetricsEndpoint(address: bound, listener: listener, connections: connections)
    }

    /// Serves until a graceful shutdown or cancellation, then stops listening, closes the
    /// open connections and returns.
    public func run() async throws {
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                try? await listener.closeFuture.get()
            } onGracefulShutdown: {
                self.listener.close(promise: nil)
            }
        } onCancel: {
            self.listener.close(promise: nil)
        }
        await close()
    }

    /// Stops listening and closes every open connection (for an endpoint that never ran, or
    /// after ``run()``: closing twice does nothing).
    public func close() async {
        try? await listener.close()
        let open = connections.channels.withLock { Array($0.values) }
        for connection in open { try? await connection.close() }
    }

    /// The one line of why a bind failed: the system's words and the errno's name.
    private static func reason(_ error: any Error) -> String {
        guard let error = error as? IOError else { return "\(error)" }
        let code = error.errnoCode
        return "\(String(cString: strerror(code))) (\(ExecFailure.name(ofErrno: code)))"
    }

    /// The connection table shared with the bootstrap's initializer.
    private final class ConnectionTable: Sendable {
        let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

        /// Keeps `channel` until it closes.
        func track(_ channel: any Channel) {
            let id = ObjectIdentifier(channel)
            channels.withLock { $0[id] = channel }
            channel.closeFuture.whenComplete { _ in self.channels.withLock { _ = $0.removeValue(forKey: id) } }
        }
    }
}
