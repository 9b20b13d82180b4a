import BoundaryAPI
import BoundaryClient
import BoundaryServer
import BoundaryTestSupport
import BoundaryWeb
import Foundation
import GRPCCore
import GRPCInProcessTransport
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Prometheus
import Retraining
import Serving

/// A Boundary server as `boundary serve` assembles it, with its HTTP router driven by Hummingbird's
/// test client and, beside it, an in-process gRPC client for checking that both APIs say the same.
struct WebHarness {
    let builder: BoundaryServerBuilder
    let metrics: PrometheusCollectorRegistry

    init(models: [String: Int] = ["tiny": 2], tokens: AccessTokens? = nil, maxImageBytes: Int = 1 << 20,
         dataDirectory: URL? = nil) async throws {
        let data = try dataDirectory ?? Fixtures.dataDirectory(models: models)
        metrics = PrometheusCollectorRegistry()
        let configuration = BoundaryServerConfiguration(
            dataDirectory: data, serving: ServingConfiguration(inferenceThreads: 1, decodeWorkers: 2), tokens: tokens,
            registryPollInterval: .milliseconds(50), maxImageBytes: maxImageBytes)
        builder = try BoundaryServerBuilder(configuration: configuration, metricsFactory: PrometheusMetricsFactory(registry: metrics),
                                            logger: Logger(label: "boundary.web-test"))
        try await builder.prepare()
    }

    /// Runs `body` with an HTTP test client on the router and a gRPC client on the same runtime.
    func run<R: Sendable>(queuePollInterval: Duration = .milliseconds(50),
                          _ body: @escaping @Sendable (any TestClientProtocol, BoundaryClient<InProcessTransport.Client>) async throws -> R)
        async throws -> R {
        let router = try BoundaryWebServer.router(builder: builder, metrics: metrics, queuePollInterval: queuePollInterval)
        let application = Application(router: router)
        let transport = InProcessTransport()
        let builder = builder
        return try await withThrowingTaskGroup(of: Void.self) { group in
            // What the service group runs in production.
            group.addTask { try await builder.retrains.run() }
            group.addTask { try await builder.searchIndexer(tick: .milliseconds(20)).run() }
            defer {
                group.cancelAll()
                builder.shutdown()
            }
            return try await withGRPCServer(transport: transport.server, services: try builder.services(),
                                            interceptors: builder.interceptors()) { _ in
                try await withGRPCClient(transport: transport.client) { grpc in
                    try await application.test(.router) { http in try await body(http, BoundaryClient(wrapping: grpc)) }
                }
            }
        }
    }
}

/// What an API call came back with, reduced to what the tests compare.
struct HTTPResult: Sendable {
    let status: Int
    let headers: HTTPFields
    let body: Data

    var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any]) ?? [:] }
    var message: String { json["message"] as? String ?? "" }
    var code: String { json["code"] as? String ?? "" }
    var text: String { String(decoding: body, as: UTF8.self) }
}

extension TestClientProtocol {
    func call(_ method: HTTPRequest.Method, _ uri: String, token: String? = nil, contentType: String? = nil,
              body: Data? = nil, headers extra: HTTPFields = [:]) async throws -> HTTPResult {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        if let contentType { headers[.contentType] = contentType }
        if let body { headers[.contentLength] = String(body.count) }
        return try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(bytes: $0) }) { response in
            HTTPResult(status: Int(response.status.code), headers: response.headers, body: Data(response.body.readableBytesView))
        }
    }

    func json(_ method: HTTPRequest.Method, _ uri: String, token: String? = nil, _ object: Any) async throws -> HTTPResult {
        try await call(method, uri, token: token, contentType: "application/json",
                       body: try JSONSerialization.data(withJSONObject: object))
    }
}

/// The gRPC status of `body`'s failure, as a (code, message) pair.
func grpcFailure(_ body: () async throws -> Void) async -> (code: RPCError.Code, message: String)? {
    do {
        try await body()
        return nil
    } catch let error as RPCError {
        return (error.code, error.message)
    } catch {
        return nil
    }
}
