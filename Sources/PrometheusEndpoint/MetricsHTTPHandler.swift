import NIOCore
import NIOHTTP1
import Prometheus

/// Answers one HTTP/1.1 connection: `GET`/`HEAD /metrics` with the registry's text exposition,
/// 404 for any other path, 405 for other methods on `/metrics`. Responds after the request's
/// end so bodies are consumed and keep-alive connections stay in sync.
final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// The content type Prometheus scrapers negotiate for the text exposition format 0.0.4.
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private let registry: PrometheusCollectorRegistry
    private var requestHead: HTTPRequestHead?

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            requestHead = head
        case .body:
            break
        case .end:
            if let head = requestHead {
                respond(to: head, context: context)
            }
            requestHead = nil
        }
    }

    private func respond(to request: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.uri
        var headers = HTTPHeaders()
        let status: HTTPResponseStatus
        var body: [UInt8]
        if path != "/metrics" {
            status = .notFound
            headers.add(name: "content-type", value: "text/plain; charset=utf-8")
            body = Array("not found: metrics are served at GET /metrics\n".utf8)
        } else if request.method != .GET && request.method != .HEAD {
            status = .methodNotAllowed
            headers.add(name: "allow", value: "GET, HEAD")
            headers.add(name: "content-type", value: "text/plain; charset=utf-8")
            body = Array("method not allowed: use GET /metrics\n".utf8)
        } else {
            status = .ok
            headers.add(name: "content-type", value: Self.contentType)
            body = []
            registry.emit(into: &body)
        }
        headers.add(name: "content-length", value: String(body.count))
        let keepAlive = request.isKeepAlive
        if !keepAlive {
            headers.add(name: "connection", value: "close")
        }

        let head = HTTPResponseHead(version: request.version, status: status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if request.method != .HEAD {
            let buffer = context.channel.allocator.buffer(bytes: body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        if !keepAlive {
            // Close only once the response is out, or a slow socket would lose its tail.
            let channel = context.channel
            written.futureResult.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
