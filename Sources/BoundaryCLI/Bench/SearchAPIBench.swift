import ArgumentParser
import BLAS
import FeedbackStore
import Foundation
import ImageSearch
import Logging
import Metrics
import Retraining
import Serving
import Tensor

/// `boundary bench search-api`: FindSimilar as the server runs it (catch-up with the feed, the
/// id's vector, the search on the search thread, the filter, the results), over N stored images
/// of the default model (128-d embeddings) loaded from the store as at start-up.
struct SearchAPIBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search-api",
        abstract: "FindSimilar latency through ImageSearch with N indexed images (load time, p50/p99, queries/s)."
    )

    @Option(help: "Indexed images, comma-separated counts.") var images = "100000,1000000"
    @Option(help: "Cores one search uses.") var threads = 2
    @Option(help: "Queries timed.") var queries = 200
    @Option(help: "The model directory.") var model = "Sources/DefaultModel/scene-s-demo"

    func run() async throws {
        #if DEBUG
        print("warning: debug build; benchmark figures are only meaningful with `swift run -c release`")
        #endif
        print("# \(OpenBLASCore.summary)")
        print("# \(KernelLevel.summary); search threads \(threads)")
        BLAS.threads = 1
        for count in images.split(separator: ",").compactMap({ Int($0) }) {
            try await measure(count)
        }
    }

    private func measure(_ count: Int) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("boundary-search-api-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let registry = ModelRegistry(dataDirectory: root)
        try registry.register(modelDirectory: URL(fileURLWithPath: model), name: "scene-s")
        let serving = ServingConfiguration(inferenceThreads: 1, decodeWorkers: 1)
        let metrics = ServingMetrics(factory: NOOPMetricsHandler.instance)
        let host = ModelHost(registry: registry, configuration: serving, metrics: metrics, logger: Logger(label: "bench"))
        await host.synchronize()
        let feed = PredictionFeed()
        let predictor = Predictor(host: host, configuration: serving, metrics: metrics, feed: feed)
        defer { predictor.shutdown() }
        let store = try SQLiteFeedbackStore(path: root.appendingPathComponent("feedback.sqlite").path)
        let intake = FeedbackIntake(host: host, store: store, recent: predictor.recentImages)
        defer { intake.shutdown() }
        let snapshot = try await host.snapshot(model: "scene-s", version: .serving)
        var rng = SeededGenerator(seed: 7)
        var ids: [String] = []
        var batch: [SearchEntryRecord] = []
        for row in 0..<count {
            let id = String(format: "%064x", row)
            ids.append(id)
            batch.append(SearchEntryRecord(model: "scene-s", imageID: id, backbone: snapshot.backboneVersion, version: 1,
                                           label: snapshot.labels[row % snapshot.labels.count], margin: Float(rng.nextUnit()),
                                           isBoundary: row % 5 == 0, seenAt: Date(),
                                           vector: (0..<snapshot.embeddingSize).map { _ in rng.nextNormal() }))
            if batch.count == 10_000 {
                try store.saveSearchEntries(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        try store.saveSearchEntries(batch)
        let search = ImageSearch(host: host, predictor: predictor, store: store, intake: intake,
                                 configuration: SearchConfiguration(threads: threads))
        defer { search.shutdown() }
        let loadStart = Measure.now()
        try await search.load()
        let loadSeconds = Measure.now() - loadStart
        _ = try await search.findSimilar(model: "scene-s", image: .id(ids[0]), k: 10, filter: SearchFilter())  // warm-up
        var plain: [Double] = [], filtered: [Double] = []
        for query in 0..<queries {
            let id = ids[(query * 7919) % ids.count]
            var start = Measure.now()
            _ = try await search.findSimilar(model: "scene-s", image: .id(id), k: 10, filter: SearchFilter())
            plain.append(Measure.now() - start)
            start = Measure.now()
            _ = try await search.findSimilar(model: "scene-s", image: .id(id), k: 10,
                                             filter: SearchFilter(predictedLabel: snapshot.labels[0], boundaryOnly: true))
            filtered.append(Measure.now() - start)
        }
        plain.sort()
        filtered.sort()
        let dimension = snapshot.embeddingSize
        report("load \(count) stored \(dimension)-d images at start-up", loadSeconds, "s", digits: 2)
        report("FindSimilar by id, \(count) images, p50", plain[plain.count / 2] * 1000, "ms", digits: 2)
        report("FindSimilar by id, \(count) images, p99", plain[min(plain.count - 1, plain.count * 99 / 100)] * 1000, "ms", digits: 2)
        report("FindSimilar by id, \(count) images, one caller", Double(plain.count) / plain.reduce(0, +), "queries/s")
        report("FindSimilar by id with label + boundary filter, \(count) images, p50", filtered[filtered.count / 2] * 1000, "ms",
               digits: 2)
    }
}
