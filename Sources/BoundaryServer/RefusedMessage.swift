import Foundation
import GRPCCore
import SwiftProtobuf

/// A request message the transport refused from its 5-byte gRPC length prefix, before reading its
/// body, so an oversized or over-budget upload never sits in memory.
///
/// The transport cannot fail an RPC with a chosen status by itself (its own size check resets the
/// stream, which clients see as CANCELLED or UNAVAILABLE), so it hands the service a stand-in
/// message instead: an otherwise empty protobuf message whose only content is an unknown field
/// (`fieldNumber`, which no Boundary message declares) describing the refusal and carrying a
/// random token drawn when the process starts, so a client cannot forge a refusal.
/// `RefusedMessageInterceptor` turns it into RESOURCE_EXHAUSTED (or INVALID_ARGUMENT) with a
/// message a person can act on, through the same path as every other status, metrics included.
public enum RefusedMessage: Equatable, Sendable {
    /// The message declared more bytes than a request may have.
    case tooLarge(declaredBytes: Int, limit: Int)
    /// Admitting it would exceed the memory budget for request bodies in flight.
    case overBudget(declaredBytes: Int, budget: Int)
    /// It was sent compressed, which this server does not accept.
    case compressed

    /// The highest field number protobuf allows; no Boundary message uses it.
    static let fieldNumber: UInt64 = (1 << 29) - 1
    /// This process's secret: stand-ins carry it, and text without it is not a refusal.
    static let token = String(UInt64.random(in: .min ... .max), radix: 36)

    public var rpcError: RPCError {
        switch self {
        case .tooLarge(let declared, let limit):
            RPCError(code: .resourceExhausted, message: "request message of \(Self.megabytes(declared)) exceeds the "
                     + "\(Self.megabytes(limit)) limit; send a smaller image (the server's --max-request-mb)")
        case .overBudget(let declared, let budget):
            RPCError(code: .resourceExhausted, message: "server busy: admitting \(Self.megabytes(declared)) more would exceed "
                     + "the \(Self.megabytes(budget)) of request bodies it holds at once (--max-inflight-mb); retry with backoff")
        case .compressed:
            RPCError(code: .invalidArgument, message: "compressed request messages are not accepted; send them uncompressed")
        }
    }

    /// The stand-in message's protobuf bytes.
    public func encoded() -> [UInt8] {
        let text: String
        switch self {
        case .tooLarge(let declared, let limit): text = "\(Self.token) too-large \(declared) \(limit)"
        case .overBudget(let declared, let budget): text = "\(Self.token) over-budget \(declared) \(budget)"
        case .compressed: text = "\(Self.token) compressed"
        }
        let payload = Array(text.utf8)
        return Self.varint(Self.fieldNumber << 3 | 2) + Self.varint(UInt64(payload.count)) + payload
    }

    /// The refusal a decoded message stands for, if its unknown fields are exactly a stand-in's.
    public init?(unknownFields data: Data) {
        let tag = Self.varint(Self.fieldNumber << 3 | 2)
        guard data.count > tag.count + 1, data.starts(with: tag) else { return nil }
        var rest = data.dropFirst(tag.count)
        let length = Int(rest.removeFirst())
        guard length < 0x80, rest.count == length, let text = String(bytes: rest, encoding: .utf8) else { return nil }
        let words = text.split(separator: " ")
        guard words.first.map(String.init) == Self.token else { return nil }
        let numbers = words.dropFirst(2).compactMap { Int($0) }
        switch (words.dropFirst().first, numbers.count) {
        case ("too-large", 2): self = .tooLarge(declaredBytes: numbers[0], limit: numbers[1])
        case ("over-budget", 2): self = .overBudget(declaredBytes: numbers[0], budget: numbers[1])
        case ("compressed", 0): self = .compressed
        default: return nil
        }
    }

    static func varint(_ value: UInt64) -> [UInt8] {
        var value = value, bytes: [UInt8] = []
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        return bytes + [UInt8(value)]
    }

    public static func megabytes(_ bytes: Int) -> String {
        bytes >= 1 << 20 ? String(format: "%.1f MiB (%d bytes)", Double(bytes) / 1_048_576, bytes) : "\(bytes) bytes"
    }
}

/// Fails an RPC with the refusal's status when the transport replaced one of its messages by a
/// `RefusedMessage` stand-in. Runs inside the metrics interceptor, so the refusal is counted
/// under its own code.
struct RefusedMessageInterceptor: ServerInterceptor {
    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        var request = request
        let messages = request.messages
        request.messages = RPCAsyncSequence(wrapping: messages.map { message in
            if let proto = message as? any SwiftProtobuf.Message, !proto.unknownFields.data.isEmpty,
               let refused = RefusedMessage(unknownFields: proto.unknownFields.data) {
                throw refused.rpcError
            }
            return message
        })
        return try await next(request, context)
    }
}
