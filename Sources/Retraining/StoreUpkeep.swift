import FeedbackStore
import Foundation
import Logging
import ServiceLifecycle
import Serving
import Training

/// Keeps the feedback store bounded, at start-up and then every `interval`: image bytes past the
/// retention limits are removed oldest first (never those an open, held-out or quarantined sample
/// needs), and embeddings of backbones no kept version uses are deleted.
public struct StoreUpkeep: Service {
    let store: any FeedbackStore
    let registry: ModelRegistry
    let limits: RetentionLimits
    let interval: Duration
    let logger: Logger

    public init(store: any FeedbackStore, registry: ModelRegistry, limits: RetentionLimits = .default,
                interval: Duration = .seconds(600), logger: Logger) {
        self.store = store
        self.registry = registry
        self.limits = limits
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully {
            sweep()
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }

    /// One pass; errors are logged and retried at the next pass (serving never depends on it).
    @discardableResult
    public func sweep(now: Date = Date()) -> RetentionReport {
        var report = RetentionReport()
        do {
            report = try store.enforceRetention(limits, now: now)
            if report.imagesRemoved > 0 || report.bytesPinned > 0 {
                logger.info("feedback store retention", metadata: [
                    "images_removed": "\(report.imagesRemoved)", "bytes_removed": "\(report.bytesRemoved)",
                    "bytes_pinned": "\(report.bytesPinned)"])
            }
            let registered = Set(try registry.modelNames())
            for model in registered.union(try store.modelsWithEmbeddings()).sorted() {
                // A version's backbone is its own, or its parent's for head-only retrains; a model
                // no longer registered keeps none.
                let versions = registered.contains(model) ? try registry.versions(of: model) : []
                let kept = Set(versions.map { version in
                    registry.record(of: model, version: version).lineage["backbone_version"].flatMap(Int.init) ?? version
                })
                let deleted = try store.pruneEmbeddings(model: model, keepVersions: kept)
                if deleted > 0 {
                    logger.info("embeddings of removed versions deleted", metadata: ["model": "\(model)", "rows": "\(deleted)"])
                }
            }
        } catch {
            logger.error("feedback store upkeep failed; retrying at the next pass", metadata: ["error": "\(error)"])
        }
        return report
    }
}
