import BoundaryClient
import BoundaryTestSupport
import Foundation
import GRPCCore
import Serving
import Testing
@testable import BoundaryServer

/// Promotions and rollbacks over real HTTP/2: the new version answers within 2 s of the request,
/// and a replaced version's memory is returned after its last request.
@Suite(.serialized) struct VersionSwapEndToEndTests {
    @Test func promoteAndRollbackServeTheNewVersionWithinTwoSeconds() async throws {
        let server = try await TestServer(models: ["tiny": 3])
        let image = try Fixtures.jpeg()
        try await server.withHTTP2Client { client in
            #expect(try await client.predict(image: image).version == 3)
            for target in [1, 3, 2] {  // promote an old version, back to the newest, roll back one
                let start = ContinuousClock.now
                _ = try await client.setServingVersion(model: "tiny", version: target)
                let reply = try await client.predict(image: image)
                let elapsed = ContinuousClock.now - start
                #expect(reply.version == UInt64(target))
                #expect(elapsed < .seconds(2), "version \(target) served after \(elapsed)")
            }
        }
    }

    /// A version registered on disk (as `boundary train --register` does) is picked up by the
    /// registry watcher and served within 2 s.
    @Test func registeredVersionIsServedWithinTwoSeconds() async throws {
        let server = try await TestServer(models: ["tiny": 1])
        let image = try Fixtures.jpeg()
        // The watcher as `boundary serve` runs it, at the default poll interval.
        let interval = BoundaryServerConfiguration(dataDirectory: server.builder.registry.root).registryPollInterval
        let watcher = Task { try await RegistryWatcher(host: server.builder.host, interval: interval,
                                                       logger: server.builder.logger).run() }
        defer { watcher.cancel() }
        try await server.withHTTP2Client { client in
            let staging = try Fixtures.temporaryDirectory()
            try Fixtures.writeTinyModel(to: staging, seed: 9)
            let start = ContinuousClock.now
            try server.builder.registry.register(modelDirectory: staging, name: "tiny")
            var version: UInt64 = 0
            while version != 2, ContinuousClock.now - start < .seconds(2) {
                version = try await client.predict(image: image).version
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(version == 2, "still serving v\(version) 2 s after registration")
        }
    }

    /// Twenty promotions in a row: every replaced snapshot is freed and resident memory stays flat.
    @Test func repeatedPromotionsLeaveMemoryFlat() async throws {
        let server = try await TestServer(models: ["tiny": 3])
        let image = try Fixtures.jpeg()
        try await server.withHTTP2Client { client in
            _ = try await client.predict(image: image)  // Warm up: sessions, caches, connections.
            let baseline = ResidentMemory.current()
            var replaced: [WeakSnapshot] = []
            for round in 0..<20 {
                let target = round % 3 + 1
                replaced.append(WeakSnapshot(try await server.builder.host.snapshot(model: "tiny", version: .serving)))
                _ = try await client.setServingVersion(model: "tiny", version: target)
                for _ in 0..<5 { #expect(try await client.predict(image: image).version == UInt64(target)) }
            }
            let serving = try await server.builder.host.snapshot(model: "tiny", version: .serving)
            try await waitUntil { replaced.allSatisfy { $0.value == nil || $0.value === serving } }
            let growth = ResidentMemory.current() - baseline
            #expect(growth < 32 << 20, "resident memory grew \(growth >> 20) MiB over 20 promotions")
        }
    }
}

/// Holds a snapshot without keeping it alive.
final class WeakSnapshot: @unchecked Sendable {
    weak var value: ModelSnapshot?
    init(_ value: ModelSnapshot) { self.value = value }
}
