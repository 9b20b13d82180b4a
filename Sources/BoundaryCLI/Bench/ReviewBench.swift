import ArgumentParser
import BLAS
import FeedbackStore
import Foundation
import Logging
import Metrics
import Retraining
import Serving
import Tensor

/// `boundary bench review`: how long ListCandidates takes (the server's part of opening the
/// review page) with thousands of remembered predictions: the first call (which fits the map) and
/// later ones (cached map), for a page of 100 and of 1,000, in margin order.
struct ReviewBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "review",
        abstract: "ListCandidates time with N remembered predictions (map fit, then cached), pages of 100 and 1000."
    )

    @Option(help: "Remembered predictions, comma-separated counts.") var images = "5000,20000"
    @Option(help: "The model directory whose embeddings are simulated.") var model = "Sources/DefaultModel/scene-s-demo"

    func run() async throws {
        #if DEBUG
        print("warning: debug build; benchmark figures are only meaningful with `swift run -c release`")
        #endif
        print("# \(OpenBLASCore.summary)")
        print("# \(KernelLevel.summary); the listing runs on one worker thread")
        for count in images.split(separator: ",").compactMap({ Int($0) }) {
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("boundary-review-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: root) }
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            let registry = ModelRegistry(dataDirectory: root)
            try registry.register(modelDirectory: URL(fileURLWithPath: model), name: "scene-s")
            let host = ModelHost(registry: registry, configuration: ServingConfiguration(inferenceThreads: 1),
                                 metrics: ServingMetrics(factory: NOOPMetricsHandler.instance), logger: Logger(label: "bench"))
            await host.synchronize()
            defer { host.shutdown() }
            let snapshot = try await host.snapshot(model: "scene-s", version: .serving)
            let recent = RecentImages(capacityBytes: 1 << 34)
            var rng = SeededGenerator(seed: 11)
            let size = snapshot.model.embeddingSize
            for index in 0..<count {
                let hex = String(index, radix: 16)
                let vector = (0..<size).map { d in rng.nextNormal() + (d % snapshot.labels.count == index % snapshot.labels.count ? 2 : 0) }
                let margin = Float(rng.nextUnit())
                recent.remember(Data(count: 16), id: String(repeating: "0", count: 64 - hex.count) + hex,
                                embedding: RecentImages.Embedding(model: "scene-s", backbone: snapshot.backboneVersion, vector: vector),
                                seen: RecentImages.Seen(model: "scene-s", version: snapshot.version,
                                                        labels: [], margin: margin, isBoundary: margin < 0.1))
            }
            let catalog = ReviewCatalog(host: host, recent: recent,
                                        store: try SQLiteFeedbackStore(path: root.appendingPathComponent("f.sqlite").path))
            defer { catalog.shutdown() }
            for pageSize in [100, 1000] {
                var start = Date()
                _ = try await catalog.candidates(CandidateQuery(pageSize: pageSize))
                let first = Date().timeIntervalSince(start)
                start = Date()
                let rounds = 5
                for _ in 0..<rounds { _ = try await catalog.candidates(CandidateQuery(pageSize: pageSize)) }
                let cached = Date().timeIntervalSince(start) / Double(rounds)
                report("ListCandidates, \(count) remembered, page \(pageSize), \(pageSize == 100 ? "first call (fits the map)" : "first call, map cached")",
                       first * 1000, "ms")
                report("ListCandidates, \(count) remembered, page \(pageSize), later calls", cached * 1000, "ms")
            }
        }
    }
}
