import BoundaryClient
import BoundaryHTTP2
import BoundaryTestSupport
import Foundation
import GRPCCore
import GRPCInProcessTransport
import GRPCNIOTransportHTTP2
import Logging
import Prometheus
import Retraining
import Serving
@testable import BoundaryServer

/// A Boundary server as the tests run it: assembled by the production builder over a temporary
/// data directory of tiny models, with its own Prometheus registry.
struct TestServer {
    let builder: BoundaryServerBuilder
    let metrics: PrometheusCollectorRegistry

    init(models: [String: Int] = ["tiny": 2], serving: ServingConfiguration = ServingConfiguration(inferenceThreads: 1, decodeWorkers: 2),
         tokens: AccessTokens? = nil, openRoles: Set<Role> = [], maxImageBytes: Int = 1 << 20,
         dataDirectory: URL? = nil, learning: LearningLoopConfiguration = LearningLoopConfiguration()) async throws {
        AllocatorTuning.keepLargeBlocksReturnable()  // As `boundary serve` runs.
        let data = try dataDirectory ?? (models.isEmpty ? Fixtures.temporaryDirectory() : Fixtures.dataDirectory(models: models))
        metrics = PrometheusCollectorRegistry()
        var configuration = BoundaryServerConfiguration(
            dataDirectory: data, serving: serving, tokens: tokens, openRoles: openRoles,
            registryPollInterval: .milliseconds(50), maxImageBytes: maxImageBytes)
        configuration.learning = learning
        builder = try BoundaryServerBuilder(configuration: configuration,
                                            metricsFactory: PrometheusMetricsFactory(registry: metrics),
                                            logger: Logger(label: "boundary.test"))
        try await builder.prepare()
    }

    /// Runs `body` with a client connected over the in-process transport.
    func withInProcessClient<R: Sendable>(token: String? = nil,
                                          _ body: (BoundaryClient<InProcessTransport.Client>) async throws -> R) async throws -> R {
        let transport = InProcessTransport()
        let builder = builder
        return try await withThrowingTaskGroup(of: Void.self) { group in
            // What the service group runs in production.
            group.addTask { try await builder.retrains.run() }
            let indexer = Task { try await builder.searchIndexer(tick: .milliseconds(20)).run() }
            defer {
                indexer.cancel()
                builder.shutdown()
            }
            let result = try await withGRPCServer(transport: transport.server, services: try builder.services(),
                                                  interceptors: builder.interceptors()) { _ in
                try await withGRPCClient(transport: transport.client) { client in
                    try await body(BoundaryClient(wrapping: client, token: token))
                }
            }
            return result
        }
    }

    /// Runs `body` with a client connected over real HTTP/2 to 127.0.0.1 on an ephemeral port.
    func withHTTP2Client<R: Sendable>(token: String? = nil, limits: BoundaryHTTP2Server.Limits? = nil,
                                      _ body: (BoundaryClient<HTTP2ClientTransport.Posix>) async throws -> R) async throws -> R {
        try await withHTTP2Server(token: token, limits: limits) { _, client in try await body(client) }
    }

    /// Runs `body` with the server's port and a client connected over real HTTP/2, on 127.0.0.1.
    func withHTTP2Server<R: Sendable>(token: String? = nil, limits: BoundaryHTTP2Server.Limits? = nil,
                                      _ body: (_ port: Int, BoundaryClient<HTTP2ClientTransport.Posix>) async throws -> R)
        async throws -> R {
        let limits = limits ?? BoundaryHTTP2Server.Limits(builder.configuration)
        let server = try builder.makeServer(transport: BoundaryHTTP2Server.transport(
            address: .ipv4(host: "127.0.0.1", port: 0), security: .plaintext, limits: limits))
        defer { builder.shutdown() }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            defer { server.beginGracefulShutdown() }
            guard let port = try await server.listeningAddress?.ipv4?.port else {
                throw RPCError(code: .internalError, message: "server did not bind")
            }
            return try await withGRPCClient(transport: .http2NIOPosix(
                target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)) { client in
                try await body(port, BoundaryClient(wrapping: client, token: token))
            }
        }
    }

    /// The tiny model's directory for version `version`.
    func modelDirectory(_ name: String = "tiny", version: Int) -> URL {
        builder.registry.directory(of: name, version: version)
    }

    /// Value of a metric line such as `boundary_batch_size_count` (summed over label sets).
    func metric(_ name: String, where filter: String = "") -> Double {
        metrics.emitToString().split(separator: "\n")
            .filter { $0.hasPrefix(name + " ") || $0.hasPrefix(name + "{") }
            .filter { filter.isEmpty || $0.contains(filter) }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
            .reduce(0, +)
    }
}

/// The status code of the RPCError `body` throws, or nil if it succeeds.
func statusCode(_ body: () async throws -> Void) async -> RPCError.Code? {
    do {
        try await body()
        return nil
    } catch let error as RPCError {
        return error.code
    } catch {
        return .unknown
    }
}
