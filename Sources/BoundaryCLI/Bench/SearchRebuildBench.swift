import ArgumentParser
import BLAS
import DemoData
import FeedbackStore
import Foundation
import ImageSearch
import Imaging
import Logging
import Metrics
import Retraining
import Serving
import Tensor

/// `boundary bench search-rebuild`: how long the search index takes to rebuild for a new backbone
/// (a full retrain promoted) with N indexed images whose bytes the server holds, and what
/// FindSimilar costs on the old index while the rebuild runs.
struct SearchRebuildBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search-rebuild",
        abstract: "Search index rebuild time after a backbone change, with N indexed images; FindSimilar latency meanwhile."
    )

    @Option(help: "Indexed images.") var images = 100_000
    @Option(help: "Cores the rebuild's forward passes use.") var rebuildThreads = 1
    @Option(help: "The model directory (registered twice: version 2 is the new backbone).") var model = "Sources/DefaultModel/scene-s-demo"

    func run() async throws {
        #if DEBUG
        print("warning: debug build; benchmark figures are only meaningful with `swift run -c release`")
        #endif
        print("# \(OpenBLASCore.summary)")
        print("# \(KernelLevel.summary); rebuild threads \(rebuildThreads), searches on 1 thread")
        BLAS.threads = 1
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("boundary-rebuild-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let registry = ModelRegistry(dataDirectory: root)
        try registry.register(modelDirectory: URL(fileURLWithPath: model), name: "scene-s")
        let serving = ServingConfiguration(inferenceThreads: 1, decodeWorkers: 1)
        let metrics = ServingMetrics(factory: NOOPMetricsHandler.instance)
        let host = ModelHost(registry: registry, configuration: serving, metrics: metrics, logger: Logger(label: "bench"))
        await host.synchronize()
        let recent = RecentImages(capacityBytes: 1 << 34)
        let predictor = Predictor(host: host, configuration: serving, metrics: metrics, recentImages: recent)
        defer { predictor.shutdown() }
        let store = try SQLiteFeedbackStore(path: root.appendingPathComponent("feedback.sqlite").path)
        let intake = FeedbackIntake(host: host, store: store, recent: recent)
        defer { intake.shutdown() }
        let search = ImageSearch(host: host, predictor: predictor, store: store, intake: intake,
                                 configuration: SearchConfiguration(threads: 1, rebuildThreads: rebuildThreads))
        defer { search.shutdown() }

        // N distinct demo images as the server would hold them (PNG bytes in memory), indexed under
        // version 1 with stand-in vectors: the rebuild embeds every one again from its bytes.
        let snapshot = try await host.snapshot(model: "scene-s", version: .serving)
        let dataset = DemoDataset(classCount: 10, imageSize: 64, overlap: 0.3, seed: 5)
        var rng = SeededGenerator(seed: 3)
        var ids: [String] = []
        var entries: [SearchEntryRecord] = []
        let prepared = Measure.now()
        for index in 0..<images {
            let image = RGBImage(width: 64, height: 64, pixels: dataset.render(.train, index: index))!
            let bytes = Data(try PNGEncoder.encode(image))
            let id = Predictor.imageID(of: bytes)
            recent.remember(bytes, id: id)
            ids.append(id)
            entries.append(SearchEntryRecord(model: "scene-s", imageID: id, backbone: snapshot.backboneVersion, version: 1,
                                             label: snapshot.labels[index % snapshot.labels.count], margin: 0.5, isBoundary: false,
                                             seenAt: Date(), vector: (0..<snapshot.embeddingSize).map { _ in rng.nextNormal() }))
            if entries.count == 5000 {
                try store.saveSearchEntries(entries)
                entries.removeAll(keepingCapacity: true)
            }
        }
        try store.saveSearchEntries(entries)
        try await search.load()
        print("# \(images) images encoded, stored and indexed in \(String(format: "%.1f", Measure.now() - prepared)) s")

        try registry.register(modelDirectory: URL(fileURLWithPath: model), name: "scene-s")
        await host.synchronize()
        let rebuildStart = Measure.now()
        async let rebuilt = search.rebuildStale()
        var latencies: [Double] = []
        var query = 0
        while search.status(model: "scene-s")?.backbone == snapshot.backboneVersion {
            let start = Measure.now()
            _ = try await search.findSimilar(model: "scene-s", image: .id(ids[query % ids.count]), k: 10, filter: SearchFilter())
            latencies.append(Measure.now() - start)
            query += 1
            try await Task.sleep(for: .milliseconds(50))
        }
        guard await rebuilt == ["scene-s"] else { throw ValidationError("the index was not rebuilt") }
        let seconds = Measure.now() - rebuildStart
        guard search.status(model: "scene-s")?.count == images else { throw ValidationError("the rebuilt index lost images") }
        latencies.sort()
        report("search index rebuild, \(images) images, new backbone", seconds, "s")
        report("search index rebuild rate", Double(images) / seconds, "images/s")
        if !latencies.isEmpty {
            report("FindSimilar on the old index during the rebuild, p50 (\(latencies.count) queries)",
                   latencies[latencies.count / 2] * 1000, "ms", digits: 2)
            report("FindSimilar on the old index during the rebuild, p99",
                   latencies[min(latencies.count - 1, latencies.count * 99 / 100)] * 1000, "ms", digits: 2)
        }
    }
}
