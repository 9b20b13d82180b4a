import ArgumentParser
import BLAS
import BoundaryHTTP2
import BoundaryServer
import BoundaryWeb
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import PostgresStore
import Prometheus
import ServiceLifecycle
import Tensor
import Serving
import Synchronization

/// `boundary serve`: the gRPC service over HTTP/2 (optionally TLS), the HTTP/JSON API with the
/// review web app and /metrics on the HTTP port, /metrics alone on the metrics port, and graceful
/// shutdown on SIGTERM/SIGINT. With no flags it serves the committed demo model on
/// 127.0.0.1:50051 (gRPC) and 127.0.0.1:8080 (HTTP).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the models in the data directory over gRPC and HTTP/JSON, with the review web app."
    )

    @OptionGroup var options: ServeOptions

    func run() async throws {
        BLAS.threads = 1  // Parallelism comes from the serving pools; OpenBLAS threads would oversubscribe.
        guard let level = Logger.Level(rawValue: options.resolvedLogLevel) else {
            throw ValidationError("unknown log level '\(options.resolvedLogLevel)'")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "boundary")
        logger.info("engine", metadata: ["hardware": "\(OpenBLASCore.summary)", "kernels": "\(KernelLevel.summary)"])
        let configuration = try options.configuration()
        try options.checkExposure(tokens: configuration.tokens)
        if configuration.tokens == nil {
            logger.warning("authentication is off: every caller may predict and change serving versions; use --tokens-file")
        }

        // Before anything is served: a bad certificate or key stops start-up here, naming the file.
        let security = try transportSecurity()
        // On a shared store, one process trains: the lease is taken before the store resets what
        // a killed retrain left claimed (the store does that when it opens in a training role).
        let lease = try takeTrainerLease(logger: logger)
        defer { lease?.close() }
        AllocatorTuning.keepLargeBlocksReturnable()
        let metrics = PrometheusCollectorRegistry()
        let builder = try BoundaryServerBuilder(configuration: configuration, metricsFactory: Self.metricsFactory(metrics),
                                                logger: logger)
        let served = try await builder.prepare()
        let server = try builder.makeServer(transport: BoundaryHTTP2Server.transport(
            address: try Self.socketAddress(host: options.resolvedHost, port: options.resolvedPort()),
            security: security, limits: BoundaryHTTP2Server.Limits(configuration)))
        var services = builder.lifecycleServices(server: server)
        if let lease { services.insert(TrainerLeaseWatch(lease: lease, logger: logger), at: 0) }
        let ports = ListeningPorts()
        let httpPort = try options.resolvedHTTPPort()
        if httpPort != 0 {
            let router = try BoundaryWebServer.router(builder: builder, metrics: options.noMetrics ? nil : metrics)
            // Before the gRPC server in shutdown order's reverse: HTTP stops taking requests first.
            services.insert(BoundaryWebServer.service(router: router, host: options.resolvedHTTPHost, port: httpPort,
                                                      drain: builder.drain, logger: logger) { ports.set(\.http, $0) },
                            at: services.count - 1)
        }
        if !options.noMetrics {
            services.insert(BoundaryWebServer.service(router: BoundaryWebServer.metricsRouter(registry: metrics),
                                                      host: options.resolvedHost, port: try options.resolvedMetricsPort(),
                                                      drain: builder.drain, logger: logger) { ports.set(\.metrics, $0) },
                            at: 0)
        }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint],
                                                      cancellationSignals: [], logger: logger))
        let host = options.resolvedHost, httpHost = options.resolvedHTTPHost
        let expected = (http: httpPort != 0, metrics: !options.noMetrics)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask {
                guard let address = try await server.listeningAddress else { return }
                let port = address.ipv4?.port ?? address.ipv6?.port ?? 0
                let bound = try await ports.wait(http: expected.http, metrics: expected.metrics)
                var line = "boundary: gRPC listening on \(host):\(port)"
                if let http = bound.http { line += ", review app and HTTP API on http://\(httpHost):\(http)/" }
                if let metrics = bound.metrics { line += ", metrics on http://\(host):\(metrics)/metrics" }
                line += "; serving " + served.sorted { $0.key < $1.key }.map { "\($0.key) v\($0.value)" }.joined(separator: ", ")
                print(line)
                fflush(nil)
            }
            try await tasks.waitForAll()
        }
        logger.notice("stopped")
    }

    func transportSecurity() throws -> HTTP2ServerTransport.Posix.TransportSecurity {
        guard let tls = options.resolvedTLS else {
            if options.tlsCert != nil || options.tlsKey != nil {
                throw ValidationError("TLS needs both --tls-cert and --tls-key")
            }
            return .plaintext
        }
        return try ServerTLS(certificatePath: tls.cert, keyPath: tls.key).transportSecurity
    }

    static func socketAddress(host: String, port: Int) throws -> GRPCNIOTransportCore.SocketAddress {
        guard (0...65535).contains(port) else { throw ValidationError("port \(port) is out of range") }
        if host == "localhost" { return .ipv4(host: "127.0.0.1", port: port) }
        return host.contains(":") ? .ipv6(host: host, port: port) : .ipv4(host: host, port: port)
    }

    /// Histogram buckets sized for this service: batch sizes in powers of two, durations from a
    /// tenth of a millisecond (decode of a thumbnail) to seconds (a queue under overload).
    static func metricsFactory(_ registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.valueHistogramBuckets[ServingMetrics.batchSizeLabel] = [1, 2, 4, 8, 16, 32, 64, 128, 256]
        factory.defaultDurationHistogramBuckets = [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5]
            .map { Duration.microseconds(Int64($0 * 1_000_000)) }
        return factory
    }
}

/// The HTTP and metrics ports once bound (they may have been asked for as 0), for the start-up line.
final class ListeningPorts: Sendable {
    struct Bound { var http: Int?; var metrics: Int? }
    private let bound = Mutex(Bound())

    func set(_ key: WritableKeyPath<Bound, Int?> & Sendable, _ port: Int) {
        bound.withLock { $0[keyPath: key] = port }
    }

    /// Polls, so a server that fails to bind (and cancels this) never leaves it hanging.
    func wait(http: Bool, metrics: Bool) async throws -> Bound {
        while true {
            let now = bound.withLock { $0 }
            if (!http || now.http != nil) && (!metrics || now.metrics != nil) { return now }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
