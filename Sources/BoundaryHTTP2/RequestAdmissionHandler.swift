import BoundaryServer
import NIOCore
import NIOHTTP2

/// Admission before buffering, on one HTTP/2 stream: reads each gRPC message's 5-byte prefix
/// (compression flag, length) as it arrives and decides before the body does. A message over
/// `maxMessageBytes`, one that would overrun the in-flight budget, or a compressed one is
/// replaced by a `RefusedMessage` stand-in and its body is dropped frame by frame as it arrives,
/// so it never occupies memory; the RPC then fails with RESOURCE_EXHAUSTED (or INVALID_ARGUMENT)
/// through the service like any other error.
///
/// Once the reply to a refused call has gone out (its trailers), the stream is reset with
/// NO_ERROR, as gRPC's HTTP/2 mapping allows, so the client stops uploading the rest of a body
/// nobody will read.
///
/// Installed first in every stream channel, ahead of grpc-swift's stream handler.
final class RequestAdmissionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload
    typealias OutboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private enum Framing {
        /// Collecting a message's prefix (fewer than 5 bytes so far).
        case prefix([UInt8])
        /// Inside a message's body: `remaining` bytes to go, passed on or dropped.
        case body(remaining: Int, forward: Bool)
    }

    private let maxMessageBytes: Int
    private let budget: InflightBudget
    private var framing = Framing.prefix([])
    /// The budget held for the stream's latest admitted message, released when the next one
    /// arrives or the stream closes.
    private var reserved = 0
    /// Whether a message of this stream was refused (its body is being dropped).
    private var refused = false

    init(maxMessageBytes: Int, budget: InflightBudget) {
        self.maxMessageBytes = maxMessageBytes
        self.budget = budget
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard case .data(let payload) = frame, case .byteBuffer(var buffer) = payload.data else {
            context.fireChannelRead(data)
            return
        }
        var forwarded: [ByteBuffer] = []
        while buffer.readableBytes > 0 {
            switch framing {
            case .prefix(var bytes):
                let take = min(5 - bytes.count, buffer.readableBytes)
                bytes += buffer.readBytes(length: take)!
                guard bytes.count == 5 else { framing = .prefix(bytes); continue }
                let length = Int(bytes[1]) << 24 | Int(bytes[2]) << 16 | Int(bytes[3]) << 8 | Int(bytes[4])
                if let refusal = admit(length: length, compressed: bytes[0] != 0) {
                    refused = true
                    forwarded.append(Self.standIn(for: refusal, allocator: context.channel.allocator))
                    framing = length > 0 ? .body(remaining: length, forward: false) : .prefix([])
                } else {
                    forwarded.append(ByteBuffer(bytes: bytes))
                    framing = length > 0 ? .body(remaining: length, forward: true) : .prefix([])
                }
            case .body(let remaining, let forward):
                let take = min(remaining, buffer.readableBytes)
                let slice = buffer.readSlice(length: take)!
                if forward { forwarded.append(slice) }
                framing = take == remaining ? .prefix([]) : .body(remaining: remaining - take, forward: forward)
            }
        }
        if forwarded.isEmpty, payload.endStream { forwarded.append(ByteBuffer()) }
        for (index, part) in forwarded.enumerated() {
            let last = index == forwarded.count - 1
            let data = HTTP2Frame.FramePayload.Data(data: .byteBuffer(part), endStream: last && payload.endStream)
            context.fireChannelRead(wrapInboundOut(.data(data)))
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(data, promise: promise)
        if refused, case .headers(let headers) = unwrapOutboundIn(data), headers.endStream {
            context.write(wrapOutboundOut(.rstStream(.noError)), promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        releaseReservation()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        releaseReservation()
    }

    /// nil admits the message (holding its bytes against the budget); otherwise why not.
    private func admit(length: Int, compressed: Bool) -> RefusedMessage? {
        releaseReservation()
        if compressed { return .compressed }
        if length > maxMessageBytes { return .tooLarge(declaredBytes: length, limit: maxMessageBytes) }
        guard budget.reserve(length) else { return .overBudget(declaredBytes: length, budget: budget.limit) }
        reserved = length
        return nil
    }

    private func releaseReservation() {
        if reserved > 0 { budget.release(reserved) }
        reserved = 0
    }

    /// A whole gRPC message (prefix and body) holding the refusal.
    static func standIn(for refusal: RefusedMessage, allocator: ByteBufferAllocator) -> ByteBuffer {
        let body = refusal.encoded()
        var buffer = allocator.buffer(capacity: 5 + body.count)
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt32(body.count))
        buffer.writeBytes(body)
        return buffer
    }
}
