import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP2
import Testing
@testable import BoundaryHTTP2
@testable import BoundaryServer

/// The admission handler on an embedded stream channel: what gRPC's stream handler behind it
/// would receive for each way a client can frame its messages.
@Suite struct RequestAdmissionHandlerTests {
    static func channel(limit: Int = 1000, budget: InflightBudget = InflightBudget(limit: 10_000)) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(RequestAdmissionHandler(maxMessageBytes: limit, budget: budget))
        return channel
    }

    static func message(_ body: [UInt8], compressed: Bool = false, declared: Int? = nil) -> [UInt8] {
        let length = UInt32(declared ?? body.count)
        return [compressed ? 1 : 0, UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF),
                UInt8(length & 0xFF)] + body
    }

    static func send(_ channel: EmbeddedChannel, _ bytes: [UInt8], end: Bool = false) throws {
        try channel.writeInbound(HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(ByteBuffer(bytes: bytes)), endStream: end)))
    }

    /// Everything passed on, concatenated, and whether the last frame ended the stream.
    static func received(_ channel: EmbeddedChannel) throws -> (bytes: [UInt8], ended: Bool) {
        var bytes: [UInt8] = [], ended = false
        while let frame = try channel.readInbound(as: HTTP2Frame.FramePayload.self) {
            guard case .data(let data) = frame, case .byteBuffer(var buffer) = data.data else { continue }
            bytes += buffer.readBytes(length: buffer.readableBytes) ?? []
            ended = data.endStream
        }
        return (bytes, ended)
    }

    @Test func admittedMessagesPassUnchangedHoweverTheyAreSplit() throws {
        let channel = try Self.channel()
        let first = Self.message(Array(0..<200).map { UInt8($0) }), second = Self.message([9, 8, 7]), empty = Self.message([])
        let stream = first + empty + second
        // Cut inside the first prefix, inside a body, and between messages.
        for (start, end) in [(0, 2), (2, 50), (50, 205), (205, stream.count)] {
            try Self.send(channel, Array(stream[start..<end]), end: end == stream.count)
        }
        let (bytes, ended) = try Self.received(channel)
        #expect(bytes == stream)
        #expect(ended)
    }

    @Test func oversizedMessageIsReplacedAndItsBodyDropped() throws {
        let budget = InflightBudget(limit: 10_000)
        let channel = try Self.channel(limit: 1000, budget: budget)
        try Self.send(channel, Self.message([], declared: 5000))
        for _ in 0..<5 { try Self.send(channel, [UInt8](repeating: 1, count: 1000)) }
        try Self.send(channel, [], end: true)
        let (bytes, ended) = try Self.received(channel)
        #expect(ended)
        #expect(Array(bytes.prefix(5)) == Self.message([], declared: bytes.count - 5))
        #expect(RefusedMessage(unknownFields: Data(bytes.dropFirst(5))) == .tooLarge(declaredBytes: 5000, limit: 1000))
        #expect(budget.inUse == 0, "a refused message holds no budget")
    }

    @Test func messageBeyondTheBudgetIsShedAndReservationsAreReleased() throws {
        let budget = InflightBudget(limit: 1500)
        let holder = try Self.channel(budget: budget), second = try Self.channel(budget: budget)
        try Self.send(holder, Self.message([UInt8](repeating: 2, count: 900)))
        #expect(budget.inUse == 900)
        try Self.send(second, Self.message([UInt8](repeating: 3, count: 800)))
        #expect(RefusedMessage(unknownFields: Data(try Self.received(second).bytes.dropFirst(5)))
                == .overBudget(declaredBytes: 800, budget: 1500))
        _ = try holder.finish()  // The stream closes: its reservation goes back.
        #expect(budget.inUse == 0)
        try Self.send(second, Self.message([UInt8](repeating: 4, count: 800)))
        #expect(try Self.received(second).bytes == Self.message([UInt8](repeating: 4, count: 800)))
        #expect(budget.inUse == 800)
    }

    /// After the reply to a refused call, a client still uploading gets a grace period to stop by
    /// itself, then the stream is reset (NO_ERROR); a client that ended its side in time, and an
    /// admitted call's reply, are left alone.
    @Test(arguments: [(refuse: true, endsInTime: false), (true, true), (false, false)])
    func refusedCallIsResetAfterAGracePeriod(refuse: Bool, endsInTime: Bool) throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            RequestAdmissionHandler(maxMessageBytes: 1000, budget: InflightBudget(limit: 10_000), refusalGrace: .seconds(1)))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()  // A stream is active.
        try Self.send(channel, Self.message([], declared: refuse ? 5000 : 10))
        try channel.writeOutbound(HTTP2Frame.FramePayload.headers(.init(headers: ["grpc-status": "8"], endStream: true)))
        func written() throws -> [HTTP2Frame.FramePayload] {
            var frames: [HTTP2Frame.FramePayload] = []
            while let frame = try channel.readOutbound(as: HTTP2Frame.FramePayload.self) { frames.append(frame) }
            return frames
        }
        let immediately = try written()
        #expect(immediately.count == 1, "only the trailers go out at once: \(immediately)")
        guard case .headers = immediately.first else { Issue.record("the trailers go out first"); return }
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(900))
        if endsInTime { try Self.send(channel, [UInt8](repeating: 1, count: 100), end: true) }
        #expect(try written().isEmpty, "nothing before the grace period ends")
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(200))
        let later = try written()
        if refuse, !endsInTime {
            guard later.count == 1, case .rstStream(let code) = later[0] else { Issue.record("\(later)"); return }
            #expect(code == .noError)
        } else {
            #expect(later.isEmpty, "\(later)")
        }
    }

    /// The request's headers carry when they arrived (any stamp the client sent is replaced);
    /// the client's trailers are passed on as they are.
    @Test func requestHeadersAreStampedWithTheirArrival() throws {
        let channel = try Self.channel()
        let before = ContinuousClock.now
        try channel.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: [
            ":path": "/a/b", CallOutcome.arrivalHeader: "-99999999999"])))
        try channel.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: ["x-trailer": "1"], endStream: true)))
        guard case .headers(let request) = try #require(try channel.readInbound(as: HTTP2Frame.FramePayload.self)),
              case .headers(let trailers) = try #require(try channel.readInbound(as: HTTP2Frame.FramePayload.self)) else {
            Issue.record("expected two headers frames")
            return
        }
        let stamps = request.headers[canonicalForm: CallOutcome.arrivalHeader]
        #expect(stamps.count == 1)
        let stamp = try #require(stamps.first.flatMap { Int64($0) })
        #expect(stamp >= Int64(CallOutcome.arrivalStamp(before))!)
        #expect(stamp <= Int64(CallOutcome.arrivalStamp(.now))!)
        #expect(!trailers.headers.contains(name: CallOutcome.arrivalHeader))
    }

    @Test func compressedMessageIsRefused() throws {
        let channel = try Self.channel()
        try Self.send(channel, Self.message([1, 2, 3], compressed: true), end: true)
        let (bytes, _) = try Self.received(channel)
        #expect(RefusedMessage(unknownFields: Data(bytes.dropFirst(5))) == .compressed)
    }

    @Test func headersPassThrough() throws {
        let channel = try Self.channel()
        try channel.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: [":path": "/a/b"])))
        guard case .headers(let headers) = try #require(try channel.readInbound(as: HTTP2Frame.FramePayload.self)) else {
            Issue.record("expected the headers frame")
            return
        }
        #expect(headers.headers.first(name: ":path") == "/a/b")
    }
}

@Suite struct InflightBudgetTests {
    @Test func reservationsNeverExceedTheLimit() async {
        let budget = InflightBudget(limit: 1000)
        let granted = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<200 { group.addTask { budget.reserve(30) ? 30 : 0 } }
            return await group.reduce(0, +)
        }
        #expect(granted == 990)
        #expect(budget.inUse == 990)
        budget.release(990)
        #expect(budget.inUse == 0)
        #expect(budget.reserve(1000))
        #expect(!budget.reserve(1))
    }
}
