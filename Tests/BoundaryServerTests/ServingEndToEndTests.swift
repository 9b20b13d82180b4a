import BoundaryAPI
import BoundaryClient
import BoundaryTestSupport
import Foundation
import GRPCCore
import Serving
import Synchronization
import Testing
import Training
@testable import BoundaryServer

/// Batching, hot swaps, the registry and auth, through the real services.
@Suite struct ServingEndToEndTests {
    /// Concurrent callers are merged into shared forward passes and each gets its own answer.
    @Test func dynamicBatchingMergesConcurrentRequests() async throws {
        // `.always`: a release build's probe could otherwise serve the tiny model without batches.
        let server = try await TestServer(serving: ServingConfiguration(maxBatchDelay: .milliseconds(20),
                                                                        inferenceThreads: 1, decodeWorkers: 2, batching: .always))
        let images = try (0..<48).map { try Fixtures.jpeg(seed: UInt64($0) + 100) }
        let replies = try await server.withInProcessClient { (client) async throws in
            try await withThrowingTaskGroup(of: (Int, Boundary_V1_PredictResponse).self) { group in
                for (index, image) in images.enumerated() {
                    group.addTask { (index, try await client.predict(image: image, topK: 3)) }
                }
                return try await group.reduce(into: [Int: Boundary_V1_PredictResponse]()) { $0[$1.0] = $1.1 }
            }
        }
        let requests = server.metric("boundary_batch_size_sum")
        let batches = server.metric("boundary_batch_size_count")
        #expect(requests == Double(images.count))
        #expect(batches < requests, "mean batch size \(requests / batches) should exceed 1 under load")
        #expect(replies.values.contains { $0.batchSize > 1 })
        for (index, image) in images.enumerated() {
            let reply = try #require(replies[index])
            let expected = try Fixtures.referenceProbabilities(model: server.modelDirectory(version: 2), image: image)
            #expect(reply.imageID == Predictor.imageID(of: image))
            for label in reply.labels { #expect(abs(label.score - expected[Int(label.index)]) < 1e-5) }
        }
    }

    /// Hundreds of concurrent predictions while the serving version flips: none fails and every
    /// reply names a version that existed.
    @Test func hotSwapUnderLoadDropsNothing() async throws {
        let server = try await TestServer(models: ["tiny": 3], serving: ServingConfiguration(queueLimit: 1024, inferenceThreads: 1))
        let image = try Fixtures.jpeg()
        try await server.withInProcessClient { (client) async throws in
            try await withThrowingTaskGroup(of: UInt64.self) { group in
                group.addTask {
                    for round in 0..<12 {
                        _ = try await client.setServingVersion(model: "tiny", version: round % 3 + 1)
                    }
                    return 0
                }
                for _ in 0..<300 {
                    group.addTask { try await client.predict(image: image, topK: 1).version }
                }
                var seen = Set<UInt64>()
                for try await version in group where version != 0 { seen.insert(version) }
                #expect(seen.isSubset(of: [1, 2, 3]))
                #expect(!seen.isEmpty)
            }
            #expect(try await client.model(named: "tiny").servingVersion == 3)
        }
    }

    /// Models lists versions with lineage; a rollback is visible to the next request; a version
    /// registered on disk is picked up without a restart.
    @Test func registryRollbackAndPickup() async throws {
        let server = try await TestServer(models: ["tiny": 2, "other": 1])
        try await server.withInProcessClient { (client) async throws in
            let models = try await client.listModels()
            #expect(models.map(\.name) == ["other", "tiny"])
            let tiny = try #require(models.last)
            #expect(tiny.servingVersion == 2 && tiny.labels == Fixtures.labels)
            #expect(tiny.input.height == 16 && tiny.input.resize == "centerCrop")
            #expect(tiny.versions.map(\.version) == [1, 2])
            #expect(tiny.versions.map(\.serving) == [false, true])
            #expect(tiny.versions[1].parent == 1 && tiny.versions[1].lineage["seed"] == "2")
            let image = try Fixtures.png()
            _ = try await client.setServingVersion(model: "tiny", version: 1)
            #expect(try await client.predict(image: image, model: "tiny").version == 1)
            #expect(try await client.predict(image: image).model == "other", "the default model is the first by name")
            #expect(await statusCode { _ = try await client.setServingVersion(model: "tiny", version: 5) } == .notFound)

            let staging = try Fixtures.temporaryDirectory()
            try Fixtures.writeTinyModel(to: staging, seed: 9)
            try server.builder.registry.register(modelDirectory: staging, name: "tiny")
            await server.builder.host.synchronize()  // What the registry watcher does every poll.
            #expect(try await client.predict(image: image, model: "tiny").version == 3)
        }
    }

    static let adminToken = "admin-token-0123456789"
    static let predictToken = "predict-token-0123456789"

    @Test func authenticationAndRoles() async throws {
        let tokens = try AccessTokens.parse("admin:\(Self.adminToken)\npredict:\(Self.predictToken)\n")
        let server = try await TestServer(tokens: tokens)
        let image = try Fixtures.jpeg()
        try await server.withInProcessClient(token: nil) { (anonymous) async throws in
            #expect(await statusCode { _ = try await anonymous.predict(image: image) } == .unauthenticated)
            #expect(try await anonymous.healthStatus() == .serving, "health needs no token")
        }
        let wrongToken = try await TestServer(tokens: tokens)
        try await wrongToken.withInProcessClient(token: "not-a-real-token-at-all") { (client) async throws in
            #expect(await statusCode { _ = try await client.predict(image: image) } == .unauthenticated)
        }
        let predictOnly = try await TestServer(tokens: tokens)
        try await predictOnly.withInProcessClient(token: Self.predictToken) { (client) async throws in
            #expect(try await client.predict(image: image).labels.count == 3)
            #expect(await statusCode { _ = try await client.setServingVersion(model: "tiny", version: 1) } == .permissionDenied)
        }
        let admin = try await TestServer(tokens: tokens)
        try await admin.withInProcessClient(token: Self.adminToken) { (client) async throws in
            #expect(try await client.setServingVersion(model: "tiny", version: 1).servingVersion == 1)
        }
        let open = try await TestServer(tokens: tokens, openRoles: [.predict])
        try await open.withInProcessClient(token: nil) { (client) async throws in
            #expect(try await client.predict(image: image).labels.count == 3, "predict left open by configuration")
            #expect(await statusCode { _ = try await client.setServingVersion(model: "tiny", version: 1) } == .unauthenticated)
        }
        #expect(open.metric("boundary_rpc_requests_total", where: "UNAUTHENTICATED") == 1)
    }
}
