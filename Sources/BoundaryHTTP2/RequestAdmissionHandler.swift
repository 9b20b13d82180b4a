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
/// An admitted message holds its declared size against the budget until the stream closes or,
/// on a stream of many messages, until `heldMessages` later ones have arrived (the service reads
/// no further ahead than that). A body that stops arriving must not hold the budget: the stream
/// is reset when the call's deadline (`grpc-timeout`) passes, or after `stallTimeout` without a
/// byte, while a message is incomplete.
///
/// A client still uploading when a refused call's reply (its trailers) goes out gets
/// `refusalGrace` to stop by itself, as gRPC clients do on seeing the status (they reset their
/// own stream); after that it gets RST_STREAM NO_ERROR, as gRPC's HTTP/2 mapping allows, so it
/// stops sending a body nobody will read. Resetting at once would be wrong under load: DATA the
/// client sent before it saw the reset is a connection error once NIOHTTP2 has forgotten the
/// stream, and it remembers only the last 32 it reset, so a client with many refused uploads in
/// flight would lose its whole connection, replies not yet read included.
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

        var isBetweenMessages: Bool {
            if case .prefix(let bytes) = self { return bytes.isEmpty }
            return false
        }
    }

    private let maxMessageBytes: Int
    private let budget: InflightBudget
    private let heldMessages: Int
    private let stallTimeout: TimeAmount
    private var framing = Framing.prefix([])
    /// Declared sizes of the admitted messages still counted against the budget, oldest first.
    private var held: [Int] = []
    /// Whether a message of this stream was refused (its body is being dropped).
    private var refused = false
    /// Whether the client has ended its side of the stream.
    private var inboundEnded = false
    /// Whether the request's headers have passed (any later HEADERS frame is the client's trailers).
    private var receivedRequestHeaders = false
    private var deadlineTimer: Scheduled<Void>?
    private var stallTimer: Scheduled<Void>?
    private var refusalTimer: Scheduled<Void>?
    private let refusalGrace: TimeAmount

    init(maxMessageBytes: Int, budget: InflightBudget, heldMessages: Int = 1, stallTimeout: TimeAmount = .seconds(30),
         refusalGrace: TimeAmount = .seconds(1)) {
        self.maxMessageBytes = maxMessageBytes
        self.budget = budget
        self.heldMessages = max(1, heldMessages)
        self.stallTimeout = stallTimeout
        self.refusalGrace = refusalGrace
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame {
        case .headers(var headers):
            inboundEnded = inboundEnded || headers.endStream
            guard !receivedRequestHeaders else { context.fireChannelRead(data); return }  // Client trailers.
            receivedRequestHeaders = true
            headers.headers.remove(name: CallOutcome.arrivalHeader)
            headers.headers.add(name: CallOutcome.arrivalHeader, value: CallOutcome.arrivalStamp(.now))
            if let timeout = headers.headers.first(name: "grpc-timeout").flatMap(CallOutcome.timeout(fromHeader:)) {
                deadlineTimer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(timeout)) { [self] in
                    resetIfWaitingForBody(context: context)
                }
            }
            context.fireChannelRead(wrapInboundOut(.headers(headers)))
        case .data(let payload):
            guard case .byteBuffer(var buffer) = payload.data else { context.fireChannelRead(data); return }
            inboundEnded = inboundEnded || payload.endStream
            var forwarded = frames(from: &buffer, allocator: context.channel.allocator)
            if payload.endStream, case .prefix(let stray) = framing, !stray.isEmpty {
                forwarded.append(ByteBuffer(bytes: stray))  // A truncated prefix: gRPC reports it as such.
            }
            if forwarded.isEmpty, payload.endStream { forwarded.append(ByteBuffer()) }
            for (index, part) in forwarded.enumerated() {
                let last = index == forwarded.count - 1
                let data = HTTP2Frame.FramePayload.Data(data: .byteBuffer(part), endStream: last && payload.endStream)
                context.fireChannelRead(wrapInboundOut(.data(data)))
            }
            armStallTimer(context: context)
        default:
            context.fireChannelRead(data)
        }
    }

    /// Splits `buffer` into what gRPC's deframer gets: admitted prefixes and bodies as they are,
    /// a stand-in for each refused message, nothing of a refused body.
    private func frames(from buffer: inout ByteBuffer, allocator: ByteBufferAllocator) -> [ByteBuffer] {
        var forwarded: [ByteBuffer] = []
        while buffer.readableBytes > 0 {
            switch framing {
            case .prefix(var bytes):
                bytes += buffer.readBytes(length: min(5 - bytes.count, buffer.readableBytes))!
                guard bytes.count == 5 else { framing = .prefix(bytes); continue }
                let length = Int(bytes[1]) << 24 | Int(bytes[2]) << 16 | Int(bytes[3]) << 8 | Int(bytes[4])
                if let refusal = admit(length: length, compressed: bytes[0] != 0) {
                    refused = true
                    forwarded.append(Self.standIn(for: refusal, allocator: allocator))
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
        return forwarded
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(data, promise: promise)
        if refused, !inboundEnded, refusalTimer == nil, case .headers(let headers) = unwrapOutboundIn(data),
           headers.endStream {
            refusalTimer = context.eventLoop.assumeIsolated().scheduleTask(in: refusalGrace) { [self] in
                guard !inboundEnded, context.channel.isActive else { return }
                context.writeAndFlush(wrapOutboundOut(.rstStream(.noError)), promise: nil)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        releaseAll()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        releaseAll()
    }

    /// nil admits the message (holding its bytes against the budget); otherwise why not.
    private func admit(length: Int, compressed: Bool) -> RefusedMessage? {
        while held.count >= heldMessages { budget.release(held.removeFirst()) }
        if compressed { return .compressed }
        if length > maxMessageBytes { return .tooLarge(declaredBytes: length, limit: maxMessageBytes) }
        guard budget.reserve(length) else { return .overBudget(declaredBytes: length, budget: budget.limit) }
        held.append(length)
        return nil
    }

    private func releaseAll() {
        for bytes in held { budget.release(bytes) }
        held.removeAll()
        deadlineTimer?.cancel()
        stallTimer?.cancel()
        refusalTimer?.cancel()
    }

    /// Restarts the stall clock while a message is incomplete; stops it between messages.
    private func armStallTimer(context: ChannelHandlerContext) {
        stallTimer?.cancel()
        stallTimer = nil
        guard !inboundEnded, !framing.isBetweenMessages else { return }
        stallTimer = context.eventLoop.assumeIsolated().scheduleTask(in: stallTimeout) { [self] in
            resetIfWaitingForBody(context: context)
        }
    }

    /// Resets the stream if the client is still owing bytes of a message: the call can no longer
    /// complete usefully, and its reservation goes back to the budget. grpc-swift then sees the
    /// stream end and the call is recorded as DEADLINE_EXCEEDED or CANCELLED (`CallOutcome`).
    private func resetIfWaitingForBody(context: ChannelHandlerContext) {
        guard !inboundEnded, !framing.isBetweenMessages, context.channel.isActive else { return }
        context.close(promise: nil)  // An HTTP/2 stream closed while open sends RST_STREAM (CANCEL).
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
