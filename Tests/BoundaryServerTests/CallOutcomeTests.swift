import GRPCCore
import Serving
import Testing
@testable import BoundaryServer

/// One decision per RPC's end, shared by the reply and the metrics.
@Suite struct CallOutcomeTests {
    @Test(arguments: [("5S", Duration.seconds(5)), ("250m", .milliseconds(250)), ("1H", .seconds(3600)),
                      ("2M", .seconds(120)), ("7u", .microseconds(7)), ("99999999n", .nanoseconds(99_999_999))])
    func parsesGRPCTimeouts(header: String, expected: Duration) {
        #expect(CallOutcome.timeout(fromHeader: header) == expected)
    }

    @Test(arguments: ["", "5", "S", "123456789S", "-1S", "5s", "1.5S"])
    func rejectsMalformedTimeouts(header: String) {
        #expect(CallOutcome.timeout(fromHeader: header) == nil)
    }

    @Test func cancelledRPCsAreDeadlineOrCancellationWhateverTheTransportSaid() {
        let transportError = RPCError(code: .unavailable, message: "stream reset")
        let passed = ContinuousClock.now - .seconds(1), future = ContinuousClock.now + .seconds(60)
        func code(_ error: any Error, cancelled: Bool, draining: Bool = false, deadline: ContinuousClock.Instant?) -> RPCError.Code {
            CallOutcome.status(for: error, cancelled: cancelled, draining: draining, deadline: deadline).code
        }
        #expect(code(transportError, cancelled: true, deadline: passed) == .deadlineExceeded)
        #expect(code(transportError, cancelled: true, deadline: future) == .cancelled)
        #expect(code(transportError, cancelled: true, deadline: nil) == .cancelled)
        #expect(code(transportError, cancelled: true, draining: true, deadline: nil) == .unavailable,
                "calls cut off by a shutdown stay UNAVAILABLE")
        #expect(code(transportError, cancelled: false, deadline: passed) == .unavailable)
        let reset = RPCError(code: .unavailable, message: "Stream unexpectedly closed: received RST_STREAM frame (CANCEL).")
        #expect(code(reset, cancelled: false, deadline: nil) == .cancelled, "the handle can lag behind the reset")
        #expect(code(reset, cancelled: false, draining: true, deadline: nil) == .unavailable)
        #expect(code(CancellationError(), cancelled: false, deadline: passed) == .deadlineExceeded)
        #expect(code(RPCError(code: .internalError, message: "Too many messages."), cancelled: false, deadline: nil)
                == .invalidArgument, "a client's framing mistake is not a server bug")
        #expect(code(RPCError(code: .internalError, message: "boom"), cancelled: false, deadline: nil) == .internalError)
        let refused = RefusedMessage.tooLarge(declaredBytes: 10, limit: 5).rpcError
        #expect(code(refused, cancelled: true, deadline: passed) == .resourceExhausted)
    }

    /// The deadline counts from when the transport received the request, however late the
    /// interceptor runs; a request without the transport's stamp counts from the interceptor.
    @Test func deadlinesCountFromTheTransportsArrivalStamp() throws {
        let arrived = ContinuousClock.now, interceptorStart = arrived + .milliseconds(300)
        var stamped: Metadata = ["grpc-timeout": "100m"]
        stamped.addString(CallOutcome.arrivalStamp(arrived), forKey: CallOutcome.arrivalHeader)
        let fromArrival = try #require(CallOutcome.deadline(of: stamped, start: interceptorStart))
        #expect(fromArrival == arrived + .milliseconds(80), "100 ms less its 20 ms slack, from arrival")
        let unstamped: Metadata = ["grpc-timeout": "100m"]
        #expect(CallOutcome.deadline(of: unstamped, start: interceptorStart) == interceptorStart + .milliseconds(80))
        var garbled: Metadata = ["grpc-timeout": "100m"]
        garbled.addString("soon", forKey: CallOutcome.arrivalHeader)
        #expect(CallOutcome.deadline(of: garbled, start: interceptorStart) == interceptorStart + .milliseconds(80))
        #expect(CallOutcome.deadline(of: stamped.removingTimeout, start: interceptorStart) == nil)
        // The transport's reset comes 100 ms after arrival, before this interceptor's own 80 ms.
        #expect(CallOutcome.cancellation(deadline: fromArrival, now: arrived + .milliseconds(101)).code == .deadlineExceeded)
    }

    @Test func refusalsRoundTripThroughTheStandInMessage() {
        for refusal in [RefusedMessage.tooLarge(declaredBytes: 32_505_856, limit: 16_842_752),
                        .overBudget(declaredBytes: 900, budget: 1500), .compressed] {
            #expect(RefusedMessage(unknownFields: .init(refusal.encoded())) == refusal)
        }
        #expect(RefusedMessage(unknownFields: .init([0x0A, 0x01, 0x41])) == nil, "an ordinary field is no refusal")
        // A client sending the marker field itself, without this process's token, forges nothing.
        let forged = Array(RefusedMessage.compressed.encoded().dropLast(RefusedMessage.token.utf8.count + " compressed".utf8.count))
        let text = Array("0000 compressed".utf8)
        #expect(RefusedMessage(unknownFields: .init(forged.dropLast() + [UInt8(text.count)] + text)) == nil)
        #expect(RefusedMessage.overBudget(declaredBytes: 900, budget: 1500).rpcError.code == .resourceExhausted)
        #expect(RefusedMessage.compressed.rpcError.code == .invalidArgument)
    }

    @Test func echoedValuesAreCutWithTheirLength() {
        #expect(EchoedValue.quoted("scene-s") == "'scene-s'")
        let long = String(repeating: "x", count: 100_000)
        let quoted = EchoedValue.quoted(long)
        #expect(quoted.count < 100)
        #expect(quoted.hasSuffix("…' (100000 bytes)"))
        #expect(ServingError.unknownModel(long, known: ["a"]).description.utf8.count < 200)
    }
}

extension Metadata {
    fileprivate var removingTimeout: Metadata {
        var copy = self
        copy.removeAllValues(forKey: "grpc-timeout")
        return copy
    }
}
