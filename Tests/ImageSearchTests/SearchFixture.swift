import BoundaryTestSupport
import DemoData
import FeedbackStore
import Foundation
import Logging
import Metrics
import Retraining
import Serving
import Training
@testable import ImageSearch

/// A served demo model, a store, and a search fed with predictions of demo images.
struct SearchFixture {
    let data: URL
    let host: ModelHost
    let predictor: Predictor
    let feed: PredictionFeed
    let store: SQLiteFeedbackStore
    let intake: FeedbackIntake
    let search: ImageSearch
    /// The images predicted so far: id → (bytes, true label index).
    var images: [String: (bytes: Data, label: Int)] = [:]

    init(data: URL? = nil, storePath: URL? = nil, configuration: SearchConfiguration = SearchConfiguration(threads: 1)) async throws {
        self.data = try data ?? DemoFixtures.dataDirectory()
        let serving = ServingConfiguration(maxBatchDelay: .milliseconds(1), inferenceThreads: 1, decodeWorkers: 1)
        let metrics = ServingMetrics(factory: NOOPMetricsHandler.instance)
        host = ModelHost(registry: ModelRegistry(dataDirectory: self.data), configuration: serving, metrics: metrics,
                         logger: Logger(label: "test"))
        await host.synchronize()
        feed = PredictionFeed()
        predictor = Predictor(host: host, configuration: serving, metrics: metrics, feed: feed)
        store = try SQLiteFeedbackStore(path: (storePath ?? self.data.appendingPathComponent("feedback.sqlite")).path)
        intake = FeedbackIntake(host: host, store: store, recent: predictor.recentImages)
        search = ImageSearch(host: host, predictor: predictor, store: store, intake: intake, configuration: configuration)
        try await search.load()
    }

    func shutdown() {
        search.shutdown()
        intake.shutdown()
        predictor.shutdown()
    }

    /// Predicts demo images `range` of `split` and indexes them. Returns their ids in order.
    @discardableResult
    mutating func predict(_ split: DemoDataset.Split = .train, _ range: Range<Int>) async throws -> [String] {
        var ids: [String] = []
        for index in range {
            let sample = DemoFixtures.dataset.sample(split, index: index)
            let bytes = try DemoFixtures.png(sample, split: split)
            let prediction = try await predictor.predict(PredictionRequest(model: "demo", image: bytes))
            images[prediction.imageID] = (bytes, sample.label)
            ids.append(prediction.imageID)
        }
        try search.apply(feed.take())
        return ids
    }

    /// Every indexed image's raw embedding under the serving version, by a forward pass of its own.
    func embeddings() async throws -> [String: [Float]] {
        let snapshot = try await host.snapshot(model: "demo", version: .serving)
        let ids = images.keys.sorted()
        let inputs = try ids.map { try ImageInput.preprocess(images[$0]!.bytes, spec: snapshot.preprocess) }
        let predictions = Predictions.compute(snapshot.model, inputs: inputs, threads: 1, withEmbeddings: true)
        return Dictionary(uniqueKeysWithValues: ids.indices.map { (ids[$0], predictions.embedding($0)) })
    }

    /// The `k` nearest ids to `query` by cosine over `vectors`, computed naively.
    static func naiveNearest(_ query: [Float], in vectors: [String: [Float]], k: Int, excluding: String? = nil) -> [String] {
        func cosine(_ a: [Float], _ b: [Float]) -> Double {
            var dot = 0.0, na = 0.0, nb = 0.0
            for i in a.indices { dot += Double(a[i] * b[i]); na += Double(a[i] * a[i]); nb += Double(b[i] * b[i]) }
            return dot / (na.squareRoot() * nb.squareRoot())
        }
        var scored: [(id: String, score: Double)] = []
        for (id, vector) in vectors where id != excluding { scored.append((id, cosine(query, vector))) }
        scored.sort { (a: (id: String, score: Double), b: (id: String, score: Double)) -> Bool in
            a.score > b.score || (a.score == b.score && a.id < b.id)
        }
        return scored.prefix(k).map(\.id)
    }
}
