import Logging
import PrometheusEndpoint
import Prometheus
import ServiceLifecycle
import Testing

@Suite struct PrometheusMetricsServerTests {
    /// Runs a metrics server on an ephemeral port inside a `ServiceGroup`, hands `body` the port,
    /// then shuts the group down gracefully and returns the port for after-shutdown checks.
    @discardableResult
    private func withMetricsServer(
        registry: PrometheusCollectorRegistry,
        _ body: @Sendable (Int) async throws -> Void
    ) async throws -> Int {
        let server = PrometheusMetricsServer(host: "127.0.0.1", port: 0, registry: registry, logger: Logger(label: "test"))
        let group = ServiceGroup(configuration: .init(services: [server], gracefulShutdownSignals: [], logger: Logger(label: "test")))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let port = try await server.listeningPort()
            do {
                try await body(port)
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return port
        }
    }

    private static func get(_ path: String, method: String = "GET") -> String {
        "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    }

    @Test(arguments: [1, 7])
    func servesTheRegistryInTextFormat(increments: Int) async throws {
        let registry = PrometheusCollectorRegistry()
        let counter = registry.makeCounter(descriptor: MetricNameDescriptor(metricName: "boundary_test_requests", unitName: "total", helpText: "test counter"))
        for _ in 0..<increments { counter.increment() }
        try await withMetricsServer(registry: registry) { port in
            let response = try RawHTTPClient.exchange(port: port, Self.get("/metrics"))
            #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(response.lowercased().contains("content-type: text/plain; version=0.0.4; charset=utf-8\r\n"))
            #expect(response.contains("\nboundary_test_requests_total \(increments)\n"))
        }
    }

    @Test(arguments: [
        (get("/"), "HTTP/1.1 404 Not Found"),
        (get("/metricsx"), "HTTP/1.1 404 Not Found"),
        (get("/metrics", method: "POST"), "HTTP/1.1 405 Method Not Allowed"),
        (get("/metrics", method: "DELETE"), "HTTP/1.1 405 Method Not Allowed"),
        (get("/metrics?name[]=x"), "HTTP/1.1 200 OK"),
    ])
    func answersOtherPathsAndMethodsWithTheRightStatus(request: String, statusLine: String) async throws {
        try await withMetricsServer(registry: PrometheusCollectorRegistry()) { port in
            let response = try RawHTTPClient.exchange(port: port, request)
            #expect(response.hasPrefix(statusLine + "\r\n"))
        }
    }

    @Test func keepsConnectionsAliveAcrossRequests() async throws {
        let registry = PrometheusCollectorRegistry()
        registry.makeGauge(descriptor: MetricNameDescriptor(metricName: "boundary_test", unitName: "gauge", helpText: "test gauge")).set(to: 3)
        try await withMetricsServer(registry: registry) { port in
            let keepAlive = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n"
            let response = try RawHTTPClient.exchange(port: port, keepAlive + keepAlive + Self.get("/metrics"))
            #expect(occurrences(of: "HTTP/1.1 200 OK\r\n", in: response) == 3)
            #expect(occurrences(of: "\nboundary_test_gauge 3", in: response) == 3)
        }
    }

    @Test func gracefulShutdownClosesTheListener() async throws {
        let port = try await withMetricsServer(registry: PrometheusCollectorRegistry()) { port in
            #expect(!RawHTTPClient.isRefused(port: port))
        }
        #expect(RawHTTPClient.isRefused(port: port))
    }
}

/// How often `needle` occurs in `haystack` (non-overlapping).
private func occurrences(of needle: String, in haystack: String) -> Int {
    haystack.split(separator: needle, omittingEmptySubsequences: false).count - 1
}
