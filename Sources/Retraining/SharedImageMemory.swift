import FeedbackStore
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Serving

/// Copies what this replica predicts into the shared store, so feedback sent to any replica can
/// name an image by the id this one returned (and a head retrain finds its embedding). Predict
/// never waits for it: predictions go through a bounded feed (the oldest dropped and counted
/// when the store falls behind), and are written in batches, one transaction each.
public final class SharedImageMemory: Service, Sendable {
    public let feed: PredictionFeed
    private let recent: RecentImages
    private let store: any SharedImageStore
    private let interval: Duration
    private let logger: Logger
    private let written: Counter
    private let dropped: Counter

    /// Images per transaction at most.
    static let batchSize = 256

    public init(store: any SharedImageStore, recent: RecentImages, capacity: Int = 4096, interval: Duration = .milliseconds(200),
                metricsFactory: any MetricsFactory = MetricsSystem.factory, logger: Logger) {
        feed = PredictionFeed(capacity: capacity)
        self.recent = recent
        self.store = store
        self.interval = interval
        self.logger = logger
        written = Counter(label: "boundary_shared_images_written_total", factory: metricsFactory)
        dropped = Counter(label: "boundary_shared_images_dropped_total", factory: metricsFactory)
    }

    /// One for `store` when other processes share it; nil for a store of this process alone.
    public static func forStore(_ store: LearningLoop.Store, recent: RecentImages, metricsFactory: any MetricsFactory,
                                logger: Logger) -> SharedImageMemory? {
        (store as? any SharedImageStore).map {
            SharedImageMemory(store: $0, recent: recent, metricsFactory: metricsFactory, logger: logger)
        }
    }

    public func run() async throws {
        var reportedDrops = 0
        while !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: interval)
            let drops = feed.dropped
            if drops > reportedDrops {
                dropped.increment(by: Int64(drops - reportedDrops))
                reportedDrops = drops
            }
            flush()
        }
        flush()  // What was predicted before shutdown still goes out.
    }

    /// Writes everything the feed holds now. A failed batch is logged and dropped: these are
    /// conveniences for feedback by id, never acknowledged data.
    public func flush() {
        let candidates = feed.take()
        var images: [PredictedImage] = []
        for candidate in candidates {
            guard let embedding = candidate.embedding, let bytes = recent.bytes(for: candidate.imageID) else { continue }
            images.append(PredictedImage(id: candidate.imageID, bytes: bytes, model: embedding.model, backbone: embedding.backbone,
                                         embedding: embedding.vector))
        }
        for start in stride(from: 0, to: images.count, by: Self.batchSize) {
            let batch = Array(images[start..<min(start + Self.batchSize, images.count)])
            do {
                try store.rememberPredicted(batch)
                written.increment(by: Int64(batch.count))
            } catch {
                dropped.increment(by: Int64(batch.count))
                logger.warning("could not copy predicted images to the shared store; feedback through another replica cannot name them by id",
                               metadata: ["images": "\(batch.count)", "error": "\(error)"])
            }
        }
    }
}
