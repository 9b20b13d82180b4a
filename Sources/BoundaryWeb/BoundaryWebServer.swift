import BoundaryHTTPAPI
import BoundaryServer
import Foundation
import Hummingbird
import Logging
import NIOCore
import OpenAPIHummingbird
import OpenAPIRuntime
import Prometheus
import ServiceLifecycle

/// Assembles the HTTP side of `boundary serve` (and of the tests) from the same builder as the gRPC
/// server: the JSON API, the review web app, and /metrics on one Hummingbird router.
public enum BoundaryWebServer {
    /// The router: the API under /v1 (OpenAPI handlers behind ``HTTPAPIMiddleware``), the web app
    /// at /, and /metrics when `metrics` is given.
    public static func router(builder: BoundaryServerBuilder, metrics: PrometheusCollectorRegistry?,
                              queuePollInterval: Duration = .seconds(1)) throws -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: SecurityHeaders())
        let authorizer = builder.configuration.tokens.map { tokens in
            BearerAuthorizer(tokens: tokens, policy: AuthorizationPolicy(openRoles: builder.configuration.openRoles),
                             logger: builder.logger)
        }
        let handler = HTTPAPIHandler(builder: builder, queuePollInterval: queuePollInterval)
        try handler.registerHandlers(
            on: router, serverURL: URL(string: "/")!,
            // Compact: a page of 5,000 candidates is a quarter smaller without the indentation.
            configuration: Configuration(jsonEncodingOptions: [.withoutEscapingSlashes]),
            middlewares: [HTTPAPIMiddleware(authorizer: authorizer, limits: HTTPBodyLimits(builder.configuration),
                                            metrics: builder.metricsFactory, logger: builder.logger)])
        WebAssets.decoded().register(on: router)
        if let metrics { MetricsRoute.register(on: router, registry: metrics) }
        return router
    }

    /// A router serving /metrics alone, for `--metrics-port` when it differs from the HTTP port.
    public static func metricsRouter(registry: PrometheusCollectorRegistry) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: SecurityHeaders())
        MetricsRoute.register(on: router, registry: registry)
        return router
    }

    /// An HTTP/1.1 server for `router` as a lifecycle service. `onListening` learns the bound port
    /// (useful with port 0). Idle connections close after a minute; a request in progress (an
    /// event stream included) keeps its connection.
    public static func service(router: Router<BasicRequestContext>, host: String, port: Int, drain: DrainState,
                               logger: Logger, onListening: @escaping @Sendable (Int) async -> Void = { _ in }) -> any Service {
        let application = Application(
            router: router, server: .http1(configuration: .init(idleTimeout: .seconds(60))),
            configuration: .init(address: .hostname(host == "localhost" ? "127.0.0.1" : host, port: port), serverName: "boundary"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
        return HTTPServerService(application: application, drain: drain)
    }
}

/// Runs the Hummingbird application; when graceful shutdown begins it also starts the drain, which
/// ends the API's open event streams so the server can finish.
struct HTTPServerService<App: ApplicationProtocol>: Service {
    let application: App
    let drain: DrainState

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await application.run()
        } onGracefulShutdown: {
            drain.begin()
        }
    }
}
