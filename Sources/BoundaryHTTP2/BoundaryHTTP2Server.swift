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
        /// Messages of one stream counted against the budget at once: what the service may hold
        /// (a PredictStream reads up to its window ahead) plus the one being received.
        public var heldMessagesPerStream: Int
        /// How long a message may go without a byte of its body before its stream is reset.
        public var stallTimeout: Duration

        public init(maxMessageBytes: Int, budget: InflightBudget, heldMessagesPerStream: Int = 65,
                    stallTimeout: Duration = .seconds(30)) {
            self.maxMessageBytes = maxMessageBytes
            self.budget = budget
            self.heldMessagesPerStream = heldMessagesPerStream
            self.stallTimeout = stallTimeout
        }

        /// The limits a server configuration implies.
        public init(_ configuration: BoundaryServerConfiguration) {
            self.init(maxMessageBytes: configuration.maxRequestMessageBytes,
                      budget: InflightBudget(limit: configuration.maxInflightBytes),
                      heldMessagesPerStream: configuration.streamWindow + 1)
        }
    }

    /// Concurrent streams one connection may open (the transport's default is unlimited).
    public static let maxConcurrentStreams = 256

    public static func transport(address: GRPCNIOTransportCore.SocketAddress,
                                 security: HTTP2ServerTransport.Posix.TransportSecurity,
                                 limits: Limits) -> HTTP2ServerTransport.Posix {
        var config = HTTP2ServerTransport.Posix.Config.defaults
        // Only a backstop: the admission handler refuses anything larger with a proper status
        // before gRPC's deframer, whose own refusal resets the stream, ever sees it.
        config.rpc.maxRequestPayloadSize = limits.maxMessageBytes + 1
        config.http2.maxConcurrentStreams = maxConcurrentStreams
        // The stream hook is documented as a debugging aid; Package.swift pins the transport's
        // minor version so its place in the pipeline (after gRPC's handler is added, before the
        // first frame) cannot shift under us.
        config.channelDebuggingCallbacks.onAcceptHTTP2Stream = { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(
                    RequestAdmissionHandler(maxMessageBytes: limits.maxMessageBytes, budget: limits.budget,
                                            heldMessages: limits.heldMessagesPerStream,
                                            stallTimeout: TimeAmount(limits.stallTimeout)),
                    position: .first)
            }
        }
        return .http2NIOPosix(address: address, transportSecurity: security, config: config)
    }
}
