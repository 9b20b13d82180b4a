import BoundaryAPI
import BoundaryClient
import BoundaryTestSupport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceLifecycle
import Testing
@testable import BoundaryServer
@testable import Serving

@Suite struct LifecycleEndToEndTests {
    /// Health is NOT_SERVING until a model loads; a watcher sees the flip without polling.
    @Test func healthWatchSeesNotServingThenServing() async throws {
        let server = try await TestServer(models: [:])
        #expect(server.builder.health.status(for: "") == .notServing)
        try await server.withInProcessClient { client in
            try await withThrowingTaskGroup(of: [Grpc_Health_V1_HealthCheckResponse.ServingStatus].self) { group in
                group.addTask { try await client.watchHealth(until: { $0 == .serving }) }
                #expect(await statusCode { _ = try await client.predict(image: try Fixtures.jpeg()) } == .unavailable)
                let staging = try Fixtures.temporaryDirectory()
                try Fixtures.writeTinyModel(to: staging, seed: 3)
                try server.builder.registry.register(modelDirectory: staging, name: "late")
                await server.builder.host.synchronize()
                let seen = try await group.next()
                #expect(seen == [.notServing, .serving])
            }
            #expect(try await client.predict(image: try Fixtures.jpeg()).model == "late")
        }
    }

    /// SIGTERM's path: health goes NOT_SERVING, the request already in a batch completes, then
    /// every service stops.
    @Test func gracefulShutdownFinishesInFlightRequests() async throws {
        // `.always`: the request must wait in the batch queue (a release build's probe could
        // otherwise run it alone).
        let server = try await TestServer(serving: ServingConfiguration(maxBatchDelay: .seconds(9), inferenceThreads: 1,
                                                                        decodeWorkers: 1, batching: .always))
        let builder = server.builder
        let grpc = try builder.makeServer(transport: .http2NIOPosix(
            address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext))
        let group = ServiceGroup(configuration: .init(services: builder.lifecycleServices(server: grpc),
                                                      gracefulShutdownSignals: [], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: UInt64?.self) { tasks in
            tasks.addTask { try await group.run(); return nil }
            let port = try #require(try await grpc.listeningAddress?.ipv4?.port)
            // A phantom request "still decoding" holds the real one in its batch window.
            builder.predictor.scheduler.announce()
            tasks.addTask {
                try await withGRPCClient(transport: .http2NIOPosix(
                    target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)) { client in
                    try await BoundaryClient(wrapping: client).predict(image: try Fixtures.jpeg()).version
                }
            }
            while builder.predictor.scheduler.queuedCount == 0 { try await Task.sleep(for: .milliseconds(5)) }
            await group.triggerGracefulShutdown()
            while builder.health.status(for: "") != .notServing { try await Task.sleep(for: .milliseconds(5)) }
            #expect(builder.drain.isDraining)
            builder.predictor.scheduler.withdraw()
            var versions: [UInt64] = []
            for try await result in tasks { if let result { versions.append(result) } }
            #expect(versions == [2], "the in-flight request completed on the version it started with")
        }
    }
}
