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
