import Foundation
import Logging
import Metrics
import ServiceLifecycle

/// The search index's upkeep as a lifecycle service: loads the stored index at start, then every
/// `tick` moves what Predict published into the index and the store (one transaction per tick,
/// off Predict's path; a query catches up first), rebuilds indexes whose model changed backbone,
/// and runs retention every `upkeepInterval`. On shutdown it stores what is still in the feed.
public struct SearchIndexer: Service {
    let search: ImageSearch
    let tick: Duration
    let logger: Logger
    let metricsFactory: any MetricsFactory

    /// Images in each model's index (gauge, by model).
    public static let indexedLabel = "boundary_search_indexed_images"
    /// Predictions the feed dropped because indexing fell behind (counter).
    public static let droppedLabel = "boundary_search_dropped_predictions_total"

    public init(search: ImageSearch, tick: Duration = .milliseconds(250), logger: Logger,
                metricsFactory: any MetricsFactory = MetricsSystem.factory) {
        self.search = search
        self.tick = tick
        self.logger = logger
        self.metricsFactory = metricsFactory
    }

    public func run() async throws {
        do {
            try await search.load()
        } catch {
            logger.error("the search index could not be loaded; it starts empty and fills from new predictions",
                         metadata: ["error": "\(error)"])
        }
        await withDiscardingTaskGroup { group in
            // Rebuilds run beside the feed loop, so predictions keep flowing into the store meanwhile.
            group.addTask { [search, logger] in
                while !Task.isShuttingDownGracefully {
                    let models = await search.rebuildStale()
                    if !models.isEmpty { logger.info("search index rebuilt for a new backbone", metadata: ["models": "\(models)"]) }
                    do {
                        try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
                    } catch {
                        return
                    }
                }
            }
            group.addTask { await feedLoop() }
        }
        await drain()
    }

    private func feedLoop() async {
        let clock = ContinuousClock()
        var lastUpkeep = clock.now
        var lastFollow = clock.now
        let dropped = Counter(label: Self.droppedLabel, dimensions: [], factory: metricsFactory)
        var droppedSoFar = 0
        while !Task.isShuttingDownGracefully {
            await drain()
            for (model, count) in search.indexedCounts() {
                Gauge(label: Self.indexedLabel, dimensions: [("model", model)], factory: metricsFactory).record(count)
            }
            let droppedNow = search.droppedPredictions
            if droppedNow > droppedSoFar {
                dropped.increment(by: Int64(droppedNow - droppedSoFar))
                logger.warning("the search index fell behind Predict; predictions were left out of it",
                               metadata: ["dropped": "\(droppedNow - droppedSoFar)"])
                droppedSoFar = droppedNow
            }
            if let every = search.configuration.followStoreEvery, clock.now - lastFollow >= every {
                lastFollow = clock.now
                do {
                    try await search.follow()
                } catch {
                    logger.warning("could not read other replicas' new search entries; retrying", metadata: ["error": "\(error)"])
                }
            }
            if clock.now - lastUpkeep >= search.configuration.upkeepInterval || search.isOverCap {
                lastUpkeep = clock.now
                do {
                    let removed = try await search.trim()
                    if removed > 0 { logger.info("search index retention", metadata: ["removed": "\(removed)"]) }
                } catch {
                    logger.error("search index retention failed; retrying at the next pass", metadata: ["error": "\(error)"])
                }
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: tick) }
            } catch {
                return
            }
        }
    }

    private func drain() async {
        do {
            try await search.catchUp()
        } catch {
            logger.error("predictions could not be added to the search index", metadata: ["error": "\(error)"])
        }
    }
}
