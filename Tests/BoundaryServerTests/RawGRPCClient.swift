import Foundation
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import Synchronization

/// A gRPC caller that writes the HTTP/2 frames itself, as a hostile or broken client would: it can
/// declare a message length it never sends, stream a huge body from one shared buffer (so the test
/// process's own memory stays small while the server receives every byte), hold a stream open
/// half-sent, or reset it.
struct RawGRPCClient {
    /// What the caller does after sending `bodyBytes` of the message.
    enum Ending {
        /// Ends its side of the stream and waits for the reply.
        case finish
        /// Waits this long for a reply, then resets the stream (a client giving up).
        case reset(after: Duration)
    }

    struct Reply {
        /// `grpc-status` from the response headers or trailers; nil if the stream ended without one.
        var status: Int?
        var message: String
        /// Body bytes the client had written when the reply arrived.
        var bodyBytesSent = 0
    }

    let multiplexer: NIOHTTP2Handler.AsyncStreamMultiplexer<Void>
    let channel: any Channel

    static func connect(port: Int) async throws -> RawGRPCClient {
        let (channel, multiplexer) = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let multiplexer = try channel.pipeline.syncOperations.configureAsyncHTTP2Pipeline(mode: .client) { stream in
                        stream.eventLoop.makeSucceededVoidFuture()
                    }
                    return (channel as any Channel, multiplexer)
                }
            }
        return RawGRPCClient(multiplexer: multiplexer, channel: channel)
    }

    func close() async { try? await channel.close() }

    /// One call to `path` whose single message declares `declaredLength` bytes, of which
    /// `bodyBytes` are sent (slices of `body`, repeated as needed, never copied).
    /// One call whose request is exactly `bytes` (gRPC framing included, or none at all), sent
    /// with the end of the stream; returns the status the server answers with.
    func callRaw(path: String, bytes: [UInt8]) async throws -> Reply {
        let stream = try await openStream()
        return try await stream.executeThenClose { inbound, outbound in
            try await outbound.write(.headers(.init(headers: Self.requestHeaders(path: path, timeout: nil))))
            try await outbound.write(.data(.init(data: .byteBuffer(ByteBuffer(bytes: bytes)), endStream: true)))
            return try await Self.reply(from: inbound)
        }
    }

    private func openStream() async throws -> NIOAsyncChannel<HTTP2Frame.FramePayload, HTTP2Frame.FramePayload> {
        try await multiplexer.openStream { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<HTTP2Frame.FramePayload, HTTP2Frame.FramePayload>(wrappingChannelSynchronously: channel)
            }
        }
    }

    private static func requestHeaders(path: String, timeout: String?) -> HPACKHeaders {
        var headers: HPACKHeaders = [":method": "POST", ":scheme": "http", ":path": path, ":authority": "127.0.0.1",
                                     "content-type": "application/grpc", "te": "trailers"]
        if let timeout { headers.add(name: "grpc-timeout", value: timeout) }
        return headers
    }

    /// The first `grpc-status` in the response headers or trailers.
    private static func reply(from inbound: NIOAsyncChannelInboundStream<HTTP2Frame.FramePayload>) async throws -> Reply {
        do {
            for try await frame in inbound {
                guard case .headers(let received) = frame,
                      let status = received.headers.first(name: "grpc-status").flatMap(Int.init) else { continue }
                return Reply(status: status, message: received.headers.first(name: "grpc-message")?.removingPercentEncoding ?? "")
            }
            return Reply(status: nil, message: "the stream ended without a status")
        } catch {
            return Reply(status: nil, message: "the stream was reset: \(error)")
        }
    }

    /// With `pace`, the body goes out in 64 KiB writes that far apart, as from a client on a
    /// slower link; without, as fast as flow control allows.
    /// With `linger`, the body keeps going that long after the reply arrives, as from a client
    /// slow to notice it, before the stream is closed.
    func call(path: String, declaredLength: Int, body: ByteBuffer, bodyBytes: Int, timeoutHeader: String? = nil,
              pace: Duration? = nil, linger: Duration? = nil, ending: Ending = .finish) async throws -> Reply {
        let progress = Progress()
        let stream = try await openStream()
        return try await stream.executeThenClose { inbound, outbound in
            try await outbound.write(.headers(.init(headers: Self.requestHeaders(path: path, timeout: timeoutHeader))))
            return try await withThrowingTaskGroup(of: Reply?.self) { group in
                group.addTask {
                    var reply = try await Self.reply(from: inbound)
                    reply.bodyBytesSent = progress.sent.load(ordering: .relaxed)
                    return reply
                }
                group.addTask {
                    // Write errors are expected once the server has answered and reset the stream.
                    do {
                        var prefix = ByteBuffer()
                        prefix.writeInteger(UInt8(0))
                        prefix.writeInteger(UInt32(declaredLength))
                        try await outbound.write(.data(.init(data: .byteBuffer(prefix))))
                        var sent = 0
                        while sent < bodyBytes {
                            let count = min(64 << 10, bodyBytes - sent, body.readableBytes)
                            let slice = body.getSlice(at: body.readerIndex, length: count)!
                            try await outbound.write(.data(.init(data: .byteBuffer(slice))))
                            sent += count
                            progress.sent.store(sent, ordering: .relaxed)
                            if let pace { try await Task.sleep(for: pace) }
                        }
                        switch ending {
                        case .finish:
                            try await outbound.write(.data(.init(data: .byteBuffer(ByteBuffer()), endStream: true)))
                        case .reset(let after):
                            try await Task.sleep(for: after)
                            return Reply(status: nil, message: "reset by the client")
                        }
                    } catch is CancellationError {
                    } catch {}
                    return nil
                }
                while let next = try await group.next() {
                    if let reply = next {
                        if let linger { try await Task.sleep(for: linger) }
                        group.cancelAll()
                        return reply
                    }
                }
                return Reply(status: nil, message: "no reply")
            }
        }
    }

    /// Body bytes written so far, shared by the writing and the reading side of a call.
    final class Progress: Sendable {
        let sent = Atomic<Int>(0)
    }
}
