import NIOCore
import NIOHTTP1

/// Answers one connection's HTTP/1.1 requests: `GET /metrics` with the text exposition,
/// 404 for any other path, 405 for any other method on `/metrics`. Keep-alive as the
/// client asks (Prometheus keeps its connection between scrapes).
final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// The Prometheus text format's content type (version 0.0.4).
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private let metrics: DaemonMetrics
    /// The head of the request being read; answered at its end (a body is read and dropped).
    private var head: HTTPRequestHead?

    init(metrics: DaemonMetrics) {
        self.metrics = metrics
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break
        case .end:
            guard let head else { return }
            self.head = nil
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let status: HTTPResponseStatus
        var headers = HTTPHeaders()
        var body: [UInt8]
        switch (path, head.method) {
        case ("/metrics", .GET):
            status = .ok
            headers.add(name: "Content-Type", value: Self.contentType)
            body = []
            metrics.emit(into: &body)
        case ("/metrics", _):
            status = .methodNotAllowed
            headers.add(name: "Allow", value: "GET")
            headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
            body = Array("method \(head.method.rawValue) not allowed: use GET /metrics\n".utf8)
        default:
            status = .notFound
            headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
            body = Array("not found: the metrics are at /metrics\n".utf8)
        }
        headers.add(name: "Content-Length", value: String(body.count))
        let keepAlive = head.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        if !keepAlive {
            let channel = context.channel
            written.futureResult.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
