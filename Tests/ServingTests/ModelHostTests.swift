import BoundaryTestSupport
import Foundation
import Logging
import Metrics
import Testing
import Training
@testable import Serving

@Suite struct ModelHostTests {
    static func host(_ models: [String: Int], defaultModel: String? = nil) async throws -> ModelHost {
        let data = try Fixtures.dataDirectory(models: models)
        let host = ModelHost(registry: ModelRegistry(dataDirectory: data),
                             configuration: ServingConfiguration(defaultModel: defaultModel),
                             metrics: ServingMetrics(factory: NOOPMetricsHandler.instance),
                             logger: Logger(label: "test"))
        await host.synchronize()
        return host
    }

    @Test func servesTheHighestVersionOfEveryModel() async throws {
        let host = try await Self.host(["alpha": 2, "beta": 1])
        defer { host.shutdown() }
        #expect(host.servingVersions == ["alpha": 2, "beta": 1])
        #expect(host.defaultModelName == "alpha")
        #expect(try await host.snapshot(model: "", version: .serving).name == "alpha")
        #expect(try await host.snapshot(model: "beta", version: .latest).version == 1)
        let pinned = try await host.snapshot(model: "alpha", version: .number(1))
        #expect(pinned.version == 1)
        #expect(try await host.snapshot(model: "alpha", version: .number(1)) === pinned, "pinned versions are cached")
    }

    @Test func unknownModelsAndVersionsNameWhatExists() async throws {
        let host = try await Self.host(["alpha": 2])
        defer { host.shutdown() }
        await #expect(throws: ServingError.unknownModel("gamma", known: ["alpha"])) {
            try await host.snapshot(model: "gamma", version: .serving)
        }
        await #expect(throws: ServingError.unknownVersion(model: "alpha", version: "9", known: [1, 2])) {
            try await host.snapshot(model: "alpha", version: .number(9))
        }
    }

    /// A swap changes what new requests get; a snapshot already handed out stays usable.
    @Test func rollbackSwapsAtomicallyAndOldSnapshotsLiveOn() async throws {
        let host = try await Self.host(["alpha": 3])
        defer { host.shutdown() }
        let before = try await host.snapshot(model: "alpha", version: .serving)
        #expect(before.version == 3)
        let after = try await host.setServingVersion(1, of: "alpha")
        #expect(after.version == 1)
        #expect(try host.registry.servingVersion(of: "alpha") == 1, "the pointer on disk moved too")
        #expect(try await host.snapshot(model: "alpha", version: .serving).version == 1)
        #expect(before.version == 3 && before.classCount == 3, "the old snapshot is intact for in-flight requests")
        await #expect(throws: ServingError.self) { try await host.setServingVersion(7, of: "alpha") }
        #expect(host.servingVersions == ["alpha": 1], "a failed swap changes nothing")
    }

    /// `boundary train --register` moves the pointer; the next synchronisation serves the new version.
    @Test func newRegistrationIsPickedUpWithoutRestart() async throws {
        let host = try await Self.host(["alpha": 1])
        defer { host.shutdown() }
        let staging = try Fixtures.temporaryDirectory()
        try Fixtures.writeTinyModel(to: staging, seed: 42)
        try host.registry.register(modelDirectory: staging, name: "alpha")
        try host.registry.register(modelDirectory: staging, name: "gamma")
        #expect(await host.synchronize() == ["alpha": 2, "gamma": 1])
    }

    /// A damaged version is reported and the previous version keeps serving.
    @Test func versionThatFailsToLoadKeepsThePreviousServing() async throws {
        let host = try await Self.host(["alpha": 1])
        defer { host.shutdown() }
        let staging = try Fixtures.temporaryDirectory()
        try Fixtures.writeTinyModel(to: staging, seed: 5)
        let version = try host.registry.register(modelDirectory: staging, name: "alpha")
        try Data("not safetensors".utf8).write(
            to: host.registry.directory(of: "alpha", version: version).appendingPathComponent("model.safetensors"))
        #expect(await host.synchronize() == ["alpha": 1])
    }
}

/// Version swaps reuse what is already loaded and timed, so promotion costs a load, not a tuning.
@Suite struct ModelHostSwapTests {
    @Test func promotionReusesKernelTimingsAndThePreloadedSnapshot() async throws {
        let data = try Fixtures.dataDirectory(models: ["alpha": 3])
        let host = ModelHost(registry: ModelRegistry(dataDirectory: data),
                             configuration: ServingConfiguration(maxBatchSize: 4, inferenceThreads: 1, tuneKernels: true),
                             metrics: ServingMetrics(factory: NOOPMetricsHandler.instance), logger: Logger(label: "test"))
        defer { host.shutdown() }
        await host.synchronize()
        let timed = host.tuningCache.count
        #expect(timed > 0, "the first version's convolutions were timed")
        let pinned = try await host.snapshot(model: "alpha", version: .number(1))
        let promoted = try await host.setServingVersion(1, of: "alpha")
        #expect(promoted === pinned, "the version loaded for pinned requests is swapped in, not loaded again")
        _ = try await host.setServingVersion(2, of: "alpha")
        #expect(host.tuningCache.count == timed, "same shapes: no convolution timed again")
        #expect(host.servingVersions == ["alpha": 2])
    }
}
