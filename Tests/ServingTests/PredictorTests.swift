import BoundaryTestSupport
import Foundation
import Imaging
import Logging
import Metrics
import Testing
import Training
@testable import Serving

@Suite struct PredictorTests {
    static func predictor(queueLimit: Int = 256, delay: Duration = .milliseconds(2),
                          batching: BatchingPolicy = .always) async throws -> Predictor {
        let data = try Fixtures.dataDirectory(models: ["tiny": 1])
        let configuration = ServingConfiguration(maxBatchDelay: delay, queueLimit: queueLimit, inferenceThreads: 1, decodeWorkers: 2,
                                                 batching: batching)
        let metrics = ServingMetrics(factory: NOOPMetricsHandler.instance)
        let host = ModelHost(registry: ModelRegistry(dataDirectory: data), configuration: configuration,
                             metrics: metrics, logger: Logger(label: "test"))
        await host.synchronize()
        return Predictor(host: host, configuration: configuration, metrics: metrics)
    }

    @Test(arguments: ["jpeg", "png"])
    func predictionMatchesTheModelRunAlone(format: String) async throws {
        let predictor = try await Self.predictor()
        defer { predictor.shutdown() }
        let image = format == "jpeg" ? try Fixtures.jpeg(seed: 3) : try Fixtures.png(seed: 3)
        let prediction = try await predictor.predict(PredictionRequest(image: image, topK: 2, includeEmbedding: true))
        let expected = try Fixtures.referenceProbabilities(
            model: predictor.host.registry.directory(of: "tiny", version: 1), image: image)
        #expect(prediction.model == "tiny" && prediction.version == 1)
        #expect(prediction.imageID == Predictor.imageID(of: image))
        #expect(prediction.imageID.count == 64)
        #expect(prediction.labels.count == 2)
        let best = expected.indices.max { expected[$0] < expected[$1] }!
        #expect(prediction.labels[0].index == best)
        #expect(abs(prediction.labels[0].score - expected[best]) < 1e-5)
        #expect(prediction.embedding?.count == 16)
        #expect(prediction.decodeSeconds > 0 && prediction.inferenceSeconds > 0)
    }

    /// `--batching never`: the version loads as one where batching does not pay, and concurrent
    /// requests each run alone (batch size 1) with their own image's probabilities, even with a
    /// batching window long enough to gather all of them.
    @Test func batchingNeverRunsEveryRequestAlone() async throws {
        let predictor = try await Self.predictor(delay: .seconds(5), batching: .never)
        defer { predictor.shutdown() }
        #expect(try await !predictor.host.snapshot(model: "tiny", version: .serving).batchingPays)
        let images = try (0..<8).map { try Fixtures.jpeg(seed: UInt64($0) + 10) }
        let predictions = try await withThrowingTaskGroup(of: (Int, Prediction).self) { group in
            for (index, image) in images.enumerated() {
                group.addTask { (index, try await predictor.predict(PredictionRequest(image: image, topK: 1))) }
            }
            return try await group.reduce(into: [Int: Prediction]()) { $0[$1.0] = $1.1 }
        }
        let directory = predictor.host.registry.directory(of: "tiny", version: 1)
        for (index, image) in images.enumerated() {
            let prediction = try #require(predictions[index])
            let expected = try Fixtures.referenceProbabilities(model: directory, image: image)
            #expect(prediction.batchSize == 1)
            #expect(abs(prediction.labels[0].score - expected[prediction.labels[0].index]) < 1e-5)
        }
        #expect(predictor.scheduler.statistics.windowWaits == 0, "no request waited for company")
    }

    /// The SHA-256 of the bytes, as `sha256sum` prints it.
    @Test func imageIDIsTheSHA256OfTheBytes() {
        #expect(Predictor.imageID(of: Data("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test(arguments: [Data(), Data("definitely not an image".utf8), Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10])])
    func unusableImagesAreInvalid(bytes: Data) async throws {
        let predictor = try await Self.predictor()
        defer { predictor.shutdown() }
        await #expect {
            try await predictor.predict(PredictionRequest(image: bytes))
        } throws: { error in
            guard case .invalidImage = error as? ServingError else { return false }
            return true
        }
        #expect(predictor.inFlightCount == 0, "a failed request releases its admission")
        // The server keeps serving.
        #expect(try await predictor.predict(PredictionRequest(image: try Fixtures.jpeg())).labels.count == 3)
    }

    /// Beyond the queue limit new requests are shed at once instead of queueing without bound.
    @Test func overloadIsShedWithoutQueueing() async throws {
        let predictor = try await Self.predictor(queueLimit: 1, delay: .seconds(30))
        defer { predictor.shutdown() }
        predictor.scheduler.announce()  // A phantom decode holds the first request in its batch window.
        let first = Task { try await predictor.predict(PredictionRequest(image: try Fixtures.jpeg())) }
        while predictor.scheduler.queuedCount == 0 { try await Task.sleep(for: .milliseconds(5)) }
        await #expect(throws: ServingError.overloaded(limit: 1)) {
            try await predictor.predict(PredictionRequest(image: try Fixtures.jpeg(seed: 2)))
        }
        predictor.scheduler.withdraw()
        #expect(try await first.value.version == 1, "the admitted request still completes")
    }
}
