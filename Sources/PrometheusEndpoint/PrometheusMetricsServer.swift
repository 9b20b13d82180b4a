import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle

/// Serves `GET /metrics` in the Prometheus text format on its own port, as a lifecycle `Service`.
///
/// A separate listener (rather than an endpoint on the gRPC port) keeps scraping independent of
/// gRPC auth and lets operators firewall it separately.
public struct PrometheusMetricsServer: Service {
    private let host: String
    private let port: Int
    private let registry: PrometheusCollectorRegistry
    private let logger: Logger
    private let group: any EventLoopGroup
    private let listener = ListenerState()

    /// - Parameters:
    ///   - host: the address to bind, e.g. `"0.0.0.0"` or `"127.0.0.1"`.
    ///   - port: the port to bind; `0` picks a free one, reported by ``listeningPort()``.
    ///   - registry: where the metrics come from.
    ///   - eventLoopGroup: defaults to NIO's shared singleton group.
    public init(
        host: String,
        port: Int,
        registry: PrometheusCollectorRegistry,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.host = host
        self.port = port
        self.registry = registry
        self.logger = logger
        self.group = eventLoopGroup
    }

    /// The bound port. Suspends until ``run()`` has bound the socket; throws if binding failed.
    public func listeningPort() async throws -> Int {
        try await listener.port()
    }

    /// Listens until graceful shutdown or cancellation, then closes the listener and open
    /// connections and returns.
    public func run() async throws {
        let connections = ConnectionSet()
        let registry = self.registry
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { child in
                    connections.add(child)
                    return child.eventLoop.makeCompletedFuture {
                        try child.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try child.pipeline.syncOperations.addHandler(MetricsHTTPHandler(registry: registry))
                    }
                }
                .bind(host: host, port: port)
                .get()
        } catch {
            listener.failed("the metrics endpoint could not listen on \(host):\(port): \(error)")
            throw error
        }
        guard let boundPort = channel.localAddress?.port else {
            channel.close(promise: nil)
            listener.failed("the metrics listener has no local port")
            throw MetricsListenerError(description: "the metrics listener has no local port")
        }
        listener.listening(on: boundPort)
        logger.info("serving Prometheus metrics", metadata: ["address": "http://\(host):\(boundPort)/metrics"])

        let stop: @Sendable () -> Void = {
            channel.close(promise: nil)
            connections.closeAll()
        }
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                // Errors here only mean the channel closed abnormally; either way we are done.
                try? await channel.closeFuture.get()
            } onGracefulShutdown: {
                stop()
            }
        } onCancel: {
            stop()
        }
        logger.info("stopped serving Prometheus metrics")
    }
}
