import Foundation
import Logging
import ServiceLifecycle

/// The search index's upkeep as a lifecycle service: loads the stored index at start, then every
/// `tick` moves what Predict published into the index and the store (one transaction per tick,
/// off Predict's path; a query catches up first), rebuilds indexes whose model changed backbone,
/// and runs retention every `upkeepInterval`. On shutdown it stores what is still in the feed.
public struct SearchIndexer: Service {
    let search: ImageSearch
    let tick: Duration
    let logger: Logger

    public init(search: ImageSearch, tick: Duration = .milliseconds(250), logger: Logger) {
        self.search = search
        self.tick = tick
        self.logger = logger
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
        while !Task.isShuttingDownGracefully {
            await drain()
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
