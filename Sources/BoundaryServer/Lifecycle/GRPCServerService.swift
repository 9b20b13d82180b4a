import GRPCCore
import ServiceLifecycle

/// Runs a `GRPCServer` as a swift-service-lifecycle `Service`, so SIGTERM drains it gracefully
/// alongside the other services (metrics endpoint, batcher) in one `ServiceGroup`.
public struct GRPCServerService<Transport: ServerTransport>: Service {
    private let server: GRPCServer<Transport>
    private let beforeShutdown: @Sendable () -> Void

    /// - Parameters:
    ///   - server: a server that has not been started; ``run()`` starts it.
    ///   - beforeShutdown: runs first when graceful shutdown begins, before the server stops
    ///     accepting RPCs; typically `{ healthBoard.shutdown() }` so health-checking load
    ///     balancers stop routing here while in-flight RPCs finish.
    public init(server: GRPCServer<Transport>, beforeShutdown: @escaping @Sendable () -> Void = {}) {
        self.server = server
        self.beforeShutdown = beforeShutdown
    }

    /// Serves until graceful shutdown, then returns once every in-flight RPC has finished.
    public func run() async throws {
        let server = self.server
        let beforeShutdown = self.beforeShutdown
        try await withGracefulShutdownHandler {
            try await server.serve()
        } onGracefulShutdown: {
            beforeShutdown()
            server.beginGracefulShutdown()
        }
    }
}
