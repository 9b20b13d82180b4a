import ArgumentParser
import BLAS
import DemoData
import FeedbackStore
import Foundation
import Imaging
import Logging
import Metrics
import Retraining
import Serving
import Tensor
import Training

/// `boundary bench feedback`: durable ingest (events/s, 10 new images each, at concurrency 1 and 16,
/// group commit) and the head retrain from feedback to the promoted version serving, at 1 000 and
/// 10 000 samples.
struct FeedbackBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "feedback",
        abstract: "Feedback ingest events/s and head-retrain time (feedback → served) on the demo model."
    )

    @Option(help: "Events for each ingest figure.") var events = 2000
    @Option(help: "Feedback sample counts for the retrain figures.") var samples = "1000,10000"
    @Option(help: "The model directory retrained.") var model = "Sources/DefaultModel/scene-s-demo"
    @Option(help: "Threads the retrain may use.") var threads = 1

    func run() async throws {
        #if DEBUG
        print("warning: debug build; benchmark figures are only meaningful with `swift run -c release`")
        #endif
        BLAS.threads = 1
        print("# \(OpenBLASCore.summary)")
        print("# \(KernelLevel.summary); retrain threads \(threads)")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("boundary-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let demo = DemoDataset(classCount: 10, imageSize: 64, overlap: 0.3, seed: 7)
        func png(_ index: Int) throws -> Data {
            let sample = demo.sample(.train, index: index)
            return Data(try PNGEncoder.encode(RGBImage(width: 64, height: 64, pixels: demo.render(sample, split: .train))!))
        }

        let imageBytes = try (0..<100).map { try png($0).count + 8 }.reduce(0, +) / 100
        print("# images: 64×64 PNG, \(imageBytes) bytes on average; every event stores 10 new ones, one fsync per commit")
        // The disk's ceiling for the same bytes: one append + fdatasync per event (concurrency 1), or
        // per 8 events (what group commit batches at concurrency 16 here).
        for perSync in [1, 8] {
            let seconds = try Self.appendAndSync(bytes: perSync * 10 * imageBytes, times: 200, in: root)
            report("  ceiling: append \(perSync * 10) images' bytes + fdatasync, as events/s", Double(perSync) / seconds, "events/s")
        }
        for concurrency in [1, 16] {
            let rate = try await ingestRate(events: events, concurrency: concurrency,
                                            root: root.appendingPathComponent("ingest-\(concurrency)"), png: png, demo: demo)
            report("feedback ingest through SubmitFeedback's intake, 10 new images per event, concurrency \(concurrency)",
                   rate, "events/s")
            report("  image bytes made durable, concurrency \(concurrency)", rate * Double(10 * imageBytes) / 1e6, "MB/s")
        }

        for count in samples.split(separator: ",").compactMap({ Int($0) }) {
            let seconds = try await retrainSeconds(samples: count, root: root.appendingPathComponent("r\(count)"), png: png, demo: demo)
            report("head retrain, \(count) feedback samples, feedback to served (threads=\(threads))", seconds, "s", digits: 2)
        }
    }

    /// Mean seconds of one append of `bytes` and fdatasync to a file in `directory`.
    static func appendAndSync(bytes: Int, times: Int, in directory: URL) throws -> Double {
        let path = directory.appendingPathComponent("ceiling.bin").path
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { throw ValidationError("cannot open \(path): errno \(errno)") }
        defer { close(fd); unlink(path) }
        let chunk = [UInt8](repeating: 0x5a, count: bytes)
        let start = Date()
        for _ in 0..<times {
            let written = chunk.withUnsafeBytes { write(fd, $0.baseAddress, bytes) }
            guard written == bytes, fdatasync(fd) == 0 else { throw ValidationError("write/fdatasync failed: errno \(errno)") }
        }
        return Date().timeIntervalSince(start) / Double(times)
    }

    /// Events of 10 new images each (bytes Predict saw, sent by id), `concurrency` submitters at
    /// once, through validation and group commit: each reply only after its fsynced commit.
    func ingestRate(events: Int, concurrency: Int, root: URL, png: (Int) throws -> Data, demo: DemoDataset) async throws -> Double {
        let registry = ModelRegistry(dataDirectory: root)
        try registry.register(modelDirectory: URL(fileURLWithPath: model), name: "scene-s")
        let store = try SQLiteFeedbackStore(path: root.appendingPathComponent("feedback.sqlite").path)
        let configuration = ServingConfiguration(inferenceThreads: 1)
        let host = ModelHost(registry: registry, configuration: configuration,
                             metrics: ServingMetrics(factory: NOOPMetricsHandler.instance), logger: Logger(label: "bench"))
        await host.synchronize()
        let recent = RecentImages(capacityBytes: 1 << 30)
        let intake = FeedbackIntake(host: host, store: store, recent: recent, policy: IntakePolicy(quota: nil))
        defer { intake.shutdown(); host.shutdown() }
        let images = try (0..<100).map(png)
        var submissions: [FeedbackSubmission] = []
        for event in 0..<events {
            var kept: [ImageReference] = [], deselected: [ImageReference] = []
            for slot in 0..<10 {
                var image = images[(event * 10 + slot) % images.count]
                image.append(contentsOf: withUnsafeBytes(of: UInt64(event * 10 + slot)) { Array($0) })  // Distinct ids.
                let id = Predictor.imageID(of: image)
                recent.remember(image, id: id)
                if slot < 7 { kept.append(.id(id)) } else { deselected.append(.id(id)) }
            }
            submissions.append(FeedbackSubmission(label: demo.classNames[event % 10], kept: kept, deselected: deselected,
                                                  userID: "bench", idempotencyKey: "e\(event)"))
        }
        let start = Date()
        let all = submissions
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<concurrency {
                group.addTask {
                    for index in stride(from: lane, to: all.count, by: concurrency) {
                        _ = try await intake.submit(all[index])
                    }
                }
            }
            try await group.waitForAll()
        }
        let rate = Double(events) / Date().timeIntervalSince(start)
        let queue = try store.queue(model: "scene-s")
        guard queue.total == events * 10 else { throw ValidationError("ingest stored \(queue.total) samples, expected \(events * 10)") }
        return rate
    }

    /// The product's flow at `count` images: Predict them (each reply's embedding is remembered with
    /// the image), submit lasso feedback by image id built from their true labels, embed the base
    /// data at start-up, then time one head retrain from its start until the promoted version serves
    /// (or the gate refuses).
    func retrainSeconds(samples count: Int, root: URL, png: (Int) throws -> Data, demo: DemoDataset) async throws -> Double {
        let registry = ModelRegistry(dataDirectory: root)
        try registry.register(modelDirectory: URL(fileURLWithPath: model), name: "scene-s")
        let store = try SQLiteFeedbackStore(path: root.appendingPathComponent("feedback.sqlite").path)
        let configuration = ServingConfiguration(inferenceThreads: 2)
        let metrics = ServingMetrics(factory: NOOPMetricsHandler.instance)
        let host = ModelHost(registry: registry, configuration: configuration, metrics: metrics, logger: Logger(label: "bench"))
        await host.synchronize()
        let predictor = Predictor(host: host, configuration: configuration, metrics: metrics,
                                  recentImages: RecentImages(capacityBytes: 1 << 30))
        let intake = FeedbackIntake(host: host, store: store, recent: predictor.recentImages, policy: IntakePolicy(quota: nil))
        let coordinator = RetrainCoordinator(host: host, store: store, recent: predictor.recentImages, threads: threads,
                                             logger: Logger(label: "bench"))
        defer { predictor.shutdown(); intake.shutdown(); coordinator.shutdown(); host.shutdown() }
        var groups: [String: (kept: [ImageReference], deselected: [ImageReference])] = [:]
        for chunk in stride(from: 0, to: count, by: 64) {
            let replies = try await withThrowingTaskGroup(of: (Int, Prediction).self) { group in
                for index in chunk..<min(chunk + 64, count) {
                    let image = try png(index + 1000)
                    group.addTask { (index, try await predictor.predict(PredictionRequest(image: image, topK: 1))) }
                }
                return try await group.reduce(into: [(Int, Prediction)]()) { $0.append($1) }
            }
            for (index, reply) in replies {
                let truth = demo.classNames[demo.sample(.train, index: index + 1000).label]
                let predicted = reply.labels[0].label
                if truth == predicted { groups[predicted, default: ([], [])].kept.append(.id(reply.imageID)) }
                else { groups[predicted, default: ([], [])].deselected.append(.id(reply.imageID)) }
            }
        }
        for (label, group) in groups {
            // Selections of at most 500 references each (the intake's limit is 1,000).
            for start in stride(from: 0, to: max(group.kept.count, group.deselected.count), by: 250) {
                _ = try await intake.submit(FeedbackSubmission(
                    label: label, kept: Array(group.kept.dropFirst(start).prefix(250)),
                    deselected: Array(group.deselected.dropFirst(start).prefix(250)), idempotencyKey: "bench-\(label)-\(start)"))
            }
        }
        let warmStart = Date()
        await coordinator.prepare()
        print("  base data embedded at start-up in \(String(format: "%.2f", Date().timeIntervalSince(warmStart))) s")
        return try await withThrowingTaskGroup(of: Double?.self) { group in
            group.addTask { try await coordinator.run(); return nil }
            let started = Date()
            let job = try await coordinator.start(RetrainOptions(model: "scene-s", mode: .head))
            var last: RetrainUpdate?
            for await update in job.updates() { last = update }
            let seconds = Date().timeIntervalSince(started)
            print("  \(last?.outcome?.reason ?? last?.error ?? "?") (feedback \(last?.outcome?.feedbackSamples ?? 0), replay \(last?.outcome?.replaySamples ?? 0))")
            coordinator.shutdown()
            for try await _ in group {}
            return seconds
        }
    }
}
