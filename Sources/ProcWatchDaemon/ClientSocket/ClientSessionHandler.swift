import NIOCore

/// One connection's handshake (hello, selection line, answer) and then its place on the
/// hub's roster: the only handler in the channel's pipeline.
final class ClientSessionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State {
        /// Hello sent, the selection line arriving (what came so far).
        case greeting(ByteBuffer)
        /// Answered ok: events flow; anything it sends is ignored.
        case streaming
        /// Refused or closed.
        case done
    }

    private let hub: ClientHub
    private let id: Int
    private let credentials: PeerCredentials
    private let visibility: ClientVisibility
    private var state: State = .greeting(ByteBuffer())
    private var started = false
    private var timeout: Scheduled<Void>?

    init(hub: ClientHub, id: Int, credentials: PeerCredentials, visibility: ClientVisibility) {
        self.hub = hub
        self.id = id
        self.credentials = credentials
        self.visibility = visibility
    }

    // The handler is added while the channel is being initialized: it may be active already.
    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    private func start(context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        let hello = ProtocolLines.hello(settings: hub.helloSettings, visibility: visibility, uid: credentials.uid)
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: hello)), promise: nil)
        let limit = hub.settings.selectionTimeout
        timeout = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(limit)) {
            self.refuse(.timeout(limit), context: context)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .greeting(var received) = state else { return }
        var incoming = unwrapInboundIn(data)
        received.writeBuffer(&incoming)
        let limit = hub.settings.selectionLimit
        guard let newline = received.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if received.readableBytes > limit { refuse(.tooLong(limit), context: context) } else { state = .greeting(received) }
            return
        }
        let length = newline - received.readerIndex
        guard length <= limit else { return refuse(.tooLong(limit), context: context) }
        let line = received.readableBytesView.prefix(length)
        do {
            let request = try ClientRequest(line: line, ownPID: hub.ownPID)
            timeout?.cancel()
            state = .streaming
            // On the roster before the answer goes out: once the client reads ok, every
            // batch published after is its.
            hub.admit(ClientConnection(id: id, channel: context.channel, credentials: credentials, visibility: visibility,
                                       request: request, queueLimit: hub.currentQueueLimit, logger: hub.logger))
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: ProtocolLines.ok)), promise: nil)
        } catch {
            refuse(error, context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let event = event as? ChannelEvent, event == .inputClosed else { return context.fireUserInboundEventTriggered(event) }
        switch state {
        case .greeting: refuse(.incomplete, context: context)
        case .streaming: context.close(promise: nil)  // closing its side ends the stream
        case .done: break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        switch state {
        case .greeting:
            // Gone before its selection (its write of the hello may have failed first, so no
            // end of input was seen): refused all the same, with nobody left to tell.
            hub.countRefusal(.incomplete, client: id, credentials: credentials)
        case .streaming: hub.dismiss(id: id)
        case .done: break
        }
        state = .done
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        hub.logger.debug("client \(id): \(error)")
        context.close(promise: nil)
    }

    /// One error line to the client, one log line in the daemon, then the connection closes.
    private func refuse(_ refusal: RequestRefusal, context: ChannelHandlerContext) {
        guard case .greeting = state else { return }
        state = .done
        timeout?.cancel()
        hub.countRefusal(refusal, client: id, credentials: credentials)
        let line = context.channel.allocator.buffer(bytes: ProtocolLines.error(refusal))
        context.writeAndFlush(wrapOutboundOut(line)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}

extension TimeAmount {
    /// The same span, to the nanosecond.
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
