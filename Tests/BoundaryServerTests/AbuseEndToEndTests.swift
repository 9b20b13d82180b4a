import BoundaryClient
import BoundaryHTTP2
import BoundaryTestSupport
import Foundation
import GRPCCore
import NIOCore
import Serving
import Testing
@testable import BoundaryServer

/// Hostile and broken clients over real HTTP/2: oversized uploads, an exhausted memory budget,
/// passed deadlines and cancellations, absurd field values. Each gets its own status, the
/// metrics agree with it, and memory stays bounded.
@Suite(.serialized) struct AbuseEndToEndTests {
    static let predictPath = "/boundary.v1.Inference/Predict"

    /// 64 concurrent 31 MiB uploads against the default 16 MiB limit: every one is refused with
    /// RESOURCE_EXHAUSTED from its length prefix, before its body has arrived, and memory stays
    /// bounded. Each client goes on sending for 50 ms after its reply, as a loaded client slow to
    /// notice it would, then closes its stream; the connection survives that (a fresh call on it
    /// gets its own status), which it did not when the server reset every refused stream at once:
    /// NIOHTTP2 remembers 32 resets, and DATA on a stream it has forgotten ends the connection,
    /// leaving the calls whose replies were still in flight without a status. The uploads
    /// are paced like clients on a ~30 MB/s link, so a whole body takes over a second; at full
    /// loopback speed, one debug process pushing 2 GB to itself measures its own client more than
    /// the server. The memory bounds are wide because other suites run in this process at the
    /// same time; buffering the bodies took 1.3 GB before admission moved ahead of the deframer.
    /// (`bench/run-abuse-bench` measures a server process on its own: BENCHMARKS.md.)
    @Test func oversizedUploadsAreRefusedBeforeTheirBodiesAreRead() async throws {
        let server = try await TestServer(maxImageBytes: BoundaryServerConfiguration.defaultMaxRequestBytes)
        let body = ByteBuffer(repeating: 0x5A, count: 1 << 20)  // Every upload sends slices of this one buffer.
        let declared = 31 << 20
        try await server.withHTTP2Server { port, _ in
            let client = try await RawGRPCClient.connect(port: port)
            let baseline = ResidentMemory.current()
            let peak = ResidentMemory.PeakSampler()
            let replies = try await withThrowingTaskGroup(of: RawGRPCClient.Reply.self) { group in
                for _ in 0..<64 {
                    group.addTask {
                        try await client.call(path: Self.predictPath, declaredLength: declared, body: body,
                                              bodyBytes: declared, pace: .milliseconds(2), linger: .milliseconds(50),
                                              ending: .reset(after: .seconds(20)))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let highest = await peak.stop()
            let afterwards = try await client.callRaw(path: Self.predictPath, bytes: [])
            #expect(afterwards.status == Int(RPCError.Code.invalidArgument.rawValue), "the connection is still up: \(afterwards)")
            await client.close()
            #expect(replies.count == 64)
            for reply in replies {
                #expect(reply.status == Int(RPCError.Code.resourceExhausted.rawValue), "\(reply)")
                #expect(reply.message.contains("exceeds the 16.1 MiB"), "\(reply.message)")
                #expect(reply.bodyBytesSent < declared, "refused only after the whole body: \(reply.bodyBytesSent) bytes")
            }
            #expect(highest - baseline < 512 << 20, "peak grew \((highest - baseline) >> 20) MiB over \(baseline >> 20) MiB")
            try await Task.sleep(for: .milliseconds(500))
            let after = ResidentMemory.current()
            #expect(after - baseline < 128 << 20, "still \((after - baseline) >> 20) MiB over baseline afterwards")
            #expect(server.metric(RPCMetricsInterceptor.requestsLabel, where: "RESOURCE_EXHAUSTED") == 64)
        }
    }

    /// A 100 MiB message is refused from its first bytes; the client need not send the rest.
    @Test func hundredMegabyteRequestIsRefusedFromItsPrefix() async throws {
        let server = try await TestServer()
        try await server.withHTTP2Server { port, _ in
            let client = try await RawGRPCClient.connect(port: port)
            let reply = try await client.call(path: Self.predictPath, declaredLength: 100 << 20,
                                              body: ByteBuffer(repeating: 1, count: 4096), bodyBytes: 4096,
                                              ending: .reset(after: .seconds(10)))
            await client.close()
            #expect(reply.status == Int(RPCError.Code.resourceExhausted.rawValue))
            #expect(reply.message.contains("100.0 MiB"), "\(reply.message)")
        }
    }

    /// While request bodies fill the in-flight budget, a new request is shed with
    /// RESOURCE_EXHAUSTED; once they are gone it is admitted again.
    @Test func inflightBudgetShedsThenRecovers() async throws {
        let server = try await TestServer(maxImageBytes: 1 << 20)
        let limits = BoundaryHTTP2Server.Limits(maxMessageBytes: 1 << 20, budget: InflightBudget(limit: 3 << 19))
        try await server.withHTTP2Server(limits: limits) { port, _ in
            let client = try await RawGRPCClient.connect(port: port)
            let junk = ByteBuffer(repeating: 7, count: 800 << 10)
            // Declares 1 MiB, sends half and holds the stream open: its reservation stays.
            let holder = Task {
                try await client.call(path: Self.predictPath, declaredLength: 1 << 20, body: junk, bodyBytes: 512 << 10,
                                      ending: .reset(after: .seconds(2)))
            }
            try await waitUntil { limits.budget.inUse == 1 << 20 }
            let shed = try await client.call(path: Self.predictPath, declaredLength: 800 << 10, body: junk,
                                             bodyBytes: 800 << 10)
            #expect(shed.status == Int(RPCError.Code.resourceExhausted.rawValue))
            #expect(shed.message.contains("server busy"), "\(shed.message)")
            _ = try await holder.value
            try await waitUntil { limits.budget.inUse == 0 }
            // Admitted now: the body is read and refused for what it is (not an image).
            let admitted = try await client.call(path: Self.predictPath, declaredLength: 800 << 10, body: junk,
                                                 bodyBytes: 800 << 10)
            #expect(admitted.status == Int(RPCError.Code.invalidArgument.rawValue), "\(admitted)")
            await client.close()
            #expect(limits.budget.inUse == 0)
        }
    }

    /// A client whose deadline passes and one that cancels are recorded under their own codes,
    /// never as UNAVAILABLE or INTERNAL; a body that stops arriving does not outlive the deadline.
    @Test func deadlinesAndCancellationsAreCountedUnderTheirOwnCodes() async throws {
        let server = try await TestServer()
        let limits = BoundaryHTTP2Server.Limits(maxMessageBytes: 1 << 20, budget: InflightBudget(limit: 4 << 20))
        try await server.withHTTP2Server(limits: limits) { port, _ in
            let client = try await RawGRPCClient.connect(port: port)
            let half = ByteBuffer(repeating: 3, count: 500)
            // The message never completes. The server ends the stream when its 100 ms deadline
            // passes, well before this client would give up, and the reservation goes back.
            let start = ContinuousClock.now
            let stalled = try await client.call(path: Self.predictPath, declaredLength: 1000, body: half, bodyBytes: 500,
                                                timeoutHeader: "100m", ending: .reset(after: .seconds(5)))
            #expect(ContinuousClock.now - start < .seconds(3), "the server waited \(ContinuousClock.now - start) for the body")
            #expect(stalled.status == nil, "the stream was reset: \(stalled)")
            try await waitUntil { limits.budget.inUse == 0 }
            // No deadline: the client goes away, once after a while and once at once (before
            // grpc-swift has attached its cancellation handle to the call).
            _ = try await client.call(path: Self.predictPath, declaredLength: 1000, body: half, bodyBytes: 500,
                                      ending: .reset(after: .milliseconds(200)))
            _ = try await client.call(path: Self.predictPath, declaredLength: 1000, body: half, bodyBytes: 500,
                                      ending: .reset(after: .zero))
            await client.close()
            let method = "boundary.v1.Inference/Predict"
            try await waitUntil {
                server.metric(RPCMetricsInterceptor.requestsLabel, where: method) >= 3
            }
            #expect(server.metric(RPCMetricsInterceptor.requestsLabel, where: "DEADLINE_EXCEEDED") == 1)
            #expect(server.metric(RPCMetricsInterceptor.requestsLabel, where: "\"CANCELLED\"") == 2)
            #expect(server.metric(RPCMetricsInterceptor.requestsLabel, where: "UNAVAILABLE") == 0)
            #expect(server.metric(RPCMetricsInterceptor.requestsLabel, where: "INTERNAL") == 0)
        }
    }

    /// A unary call with no request message, or with two, is the client's mistake: INVALID_ARGUMENT.
    @Test func wrongMessageCountsAreInvalidArguments() async throws {
        let server = try await TestServer()
        try await server.withHTTP2Server { port, _ in
            let client = try await RawGRPCClient.connect(port: port)
            let none = try await client.callRaw(path: Self.predictPath, bytes: [])
            let empty: [UInt8] = [0, 0, 0, 0, 0]  // One empty message (a default PredictRequest).
            let two = try await client.callRaw(path: Self.predictPath, bytes: empty + empty)
            await client.close()
            #expect(none.status == Int(RPCError.Code.invalidArgument.rawValue), "\(none)")
            #expect(two.status == Int(RPCError.Code.invalidArgument.rawValue), "\(two)")
            #expect(two.message.contains("more than one request message"), "\(two.message)")
        }
    }

    /// A 100 KB model name is quoted in the error only in part, with its length.
    @Test func hugeModelNameGetsAShortMessage() async throws {
        let server = try await TestServer()
        let name = String(repeating: "m", count: 100_000)
        try await server.withHTTP2Client { client in
            do {
                _ = try await client.predict(image: try Fixtures.jpeg(), model: name)
                Issue.record("an unknown model must fail")
            } catch let error as RPCError {
                #expect(error.code == .notFound)
                #expect(error.message.utf8.count < 300, "\(error.message.utf8.count) bytes")
                #expect(error.message.contains("(100000 bytes)"))
                #expect(error.message.contains("tiny"), "the message still lists the models that exist")
            }
        }
    }
}

/// Polls `condition` every 20 ms for up to `timeout`; fails the test if it never holds.
func waitUntil(timeout: Duration = .seconds(5), _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition did not hold within \(timeout)")
            return
        }
        try await Task.sleep(for: .milliseconds(20))
    }
}
