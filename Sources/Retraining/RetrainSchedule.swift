import FeedbackStore
import Foundation
import Logging
import ServiceLifecycle
import Serving
import Synchronization

/// When the schedule fires next, for GetQueue.
public final class RetrainScheduleClock: Sendable {
    private let next = Mutex<Date?>(nil)
    public init() {}
    public var nextRun: Date? { next.withLock { $0 } }
    func set(_ date: Date?) { next.withLock { $0 = date } }
}

/// The periodic fine-tuning loop (`boundary serve --retrain-every 1h --retrain-min-samples 50`):
/// every `interval`, each served model with at least `minSamples` trainable pending samples is
/// retrained with `template`'s settings, one job at a time per model.
public struct RetrainSchedule: Service {
    let coordinator: RetrainCoordinator
    let host: ModelHost
    let store: any FeedbackStore
    let interval: Duration
    let minSamples: Int
    let template: RetrainOptions
    let clock: RetrainScheduleClock
    let logger: Logger

    public init(coordinator: RetrainCoordinator, host: ModelHost, store: any FeedbackStore, interval: Duration,
                minSamples: Int, template: RetrainOptions, clock: RetrainScheduleClock = RetrainScheduleClock(),
                logger: Logger) {
        self.clock = clock
        self.coordinator = coordinator
        self.host = host
        self.store = store
        self.interval = interval
        self.minSamples = minSamples
        self.template = template
        self.logger = logger
    }

    public func run() async throws {
        defer { clock.set(nil) }
        while !Task.isShuttingDownGracefully {
            clock.set(Date().addingTimeInterval(Double(interval.components.seconds)
                                                + Double(interval.components.attoseconds) / 1e18))
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            await tick()
        }
    }

    /// One round: starts a retrain for every model whose queue reached the minimum and waits for
    /// the jobs to end. Returns the jobs started.
    @discardableResult
    func tick() async -> [RetrainJob] {
        var started: [RetrainJob] = []
        for name in host.serving.keys.sorted() {
            let pending: Int
            do {
                pending = try store.queue(model: name).pending
            } catch {
                logger.error("scheduled retrain: could not read the feedback queue", metadata: ["model": "\(name)", "error": "\(error)"])
                continue
            }
            guard pending >= minSamples else { continue }
            var options = template
            options.model = name
            options.minNewSamples = minSamples
            do {
                let job = try await coordinator.start(options)
                logger.info("scheduled retrain started", metadata: ["model": "\(name)", "job": "\(job.id)", "pending": "\(pending)"])
                started.append(job)
            } catch {
                logger.info("scheduled retrain skipped", metadata: ["model": "\(name)", "reason": "\(error)"])
            }
        }
        for job in started { for await _ in job.updates() {} }
        return started
    }
}
