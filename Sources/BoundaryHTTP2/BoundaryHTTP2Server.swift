import BoundaryServer
import GRPCNIOTransportHTTP2
import NIOCore

/// The HTTP/2 transport as `boundary serve` and the HTTP/2 tests run it: every stream gets a
/// `RequestAdmissionHandler` ahead of gRPC's own, so request size and the in-flight memory budget
/// are decided from each message's length prefix, before its body is read.
public enum BoundaryHTTP2Server {
    public struct Limits: Sendable {
        /// The largest request message admitted (the image limit plus room for the other fields).
        public var maxMessageBytes: Int
        /// Request bodies held at once, across all streams.
        public var budget: InflightBudget

        public init(maxMessageBytes: Int, budget: InflightBudget) {
            self.maxMessageBytes = maxMessageBytes
            self.budget = budget
        }

        /// The limits a server configuration implies, with `inflightBytes` as the budget.
        public init(_ configuration: BoundaryServerConfiguration) {
            self.init(maxMessageBytes: configuration.maxRequestMessageBytes,
                      budget: InflightBudget(limit: configuration.maxInflightBytes))
        }
    }

    public static func transport(address: GRPCNIOTransportCore.SocketAddress,
                                 security: HTTP2ServerTransport.Posix.TransportSecurity,
                                 limits: Limits) -> HTTP2ServerTransport.Posix {
        var config = HTTP2ServerTransport.Posix.Config.defaults
        // Only a backstop: the admission handler refuses anything larger with a proper status
        // before gRPC's deframer, whose own refusal resets the stream, ever sees it.
        config.rpc.maxRequestPayloadSize = limits.maxMessageBytes + 1
        let (maxMessageBytes, budget) = (limits.maxMessageBytes, limits.budget)
        config.channelDebuggingCallbacks.onAcceptHTTP2Stream = { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(
                    RequestAdmissionHandler(maxMessageBytes: maxMessageBytes, budget: budget), position: .first)
            }
        }
        return .http2NIOPosix(address: address, transportSecurity: security, config: config)
    }
}
