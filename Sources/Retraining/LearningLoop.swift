import FeedbackStore
import Foundation
import Imaging
import Logging
import ServiceLifecycle
import Serving

/// What a server chooses about its learning loop.
public struct LearningLoopConfiguration: Sendable {
    public var intake: IntakePolicy
    public var retention: RetentionLimits
    /// How often retention and embedding pruning run.
    public var upkeepInterval: Duration
    /// Cores a retrain may use; serving keeps the rest.
    public var retrainThreads: Int
    /// The periodic retrain, when enabled.
    public var schedule: Schedule?

    public struct Schedule: Sendable {
        public var interval: Duration
        /// Trainable pending samples a model needs before a scheduled retrain starts.
        public var minSamples: Int
        public var options: RetrainOptions
        public init(interval: Duration, minSamples: Int, options: RetrainOptions) {
            self.interval = interval
            self.minSamples = minSamples
            self.options = options
        }
    }

    /// What this process does in a deployment (`boundary serve --role`).
    public var role: ProcessRole = .all

    public init(intake: IntakePolicy = IntakePolicy(), retention: RetentionLimits = .default,
                upkeepInterval: Duration = .seconds(600), retrainThreads: Int = 1, schedule: Schedule? = nil) {
        self.intake = intake
        self.retention = retention
        self.upkeepInterval = upkeepInterval
        self.retrainThreads = retrainThreads
        self.schedule = schedule
    }
}

/// A process's part in a deployment. One process does everything by default; with a shared
/// (PostgreSQL) store, serving replicas leave retrains, their schedule and the store's upkeep to
/// the one trainer, so each happens once for the whole deployment.
public enum ProcessRole: String, Sendable, CaseIterable {
    case all, serve, train

    /// Runs retrains, the schedule and upkeep, and owns what a killed retrain left behind.
    public var trains: Bool { self != .serve }
}

/// The learning loop assembled over one feedback store: intake, retrains, their schedule, the
/// store's upkeep and the review listing. The server builder creates one and runs its services in the service group.
public final class LearningLoop: Sendable {
    /// The store every part of the loop (and search) writes to.
    public let store: any FeedbackStore & SearchStore
    public let intake: FeedbackIntake
    public let retrains: RetrainCoordinator
    /// When the retrain schedule fires next (unset without a schedule).
    public let scheduleClock = RetrainScheduleClock()
    public let upkeep: StoreUpkeep
    /// Recent predictions for reviewers, and thumbnails.
    public let review: ReviewCatalog
    private let schedule: RetrainSchedule?

    /// A store the loop (and search) can use: feedback, embeddings, search entries.
    public typealias Store = any FeedbackStore & SearchStore

    /// Opens (creating or migrating) the SQLite store at `storePath`.
    public convenience init(host: ModelHost, recent: RecentImages, storePath: URL, limits: ImagingLimits,
                            configuration: LearningLoopConfiguration, logger: Logger) throws {
        try self.init(host: host, recent: recent, store: try SQLiteFeedbackStore(path: storePath.path), limits: limits,
                      configuration: configuration, logger: logger)
    }

    /// Runs over an open store (the PostgreSQL one, shared by several processes).
    public init(host: ModelHost, recent: RecentImages, store: Store, limits: ImagingLimits,
                configuration: LearningLoopConfiguration, logger: Logger) {
        self.store = store
        role = configuration.role
        intake = FeedbackIntake(host: host, store: store, recent: recent, limits: limits, policy: configuration.intake)
        review = ReviewCatalog(host: host, recent: recent, store: store)
        let retrains = RetrainCoordinator(host: host, store: store, recent: recent, threads: configuration.retrainThreads,
                                          acceptsJobs: configuration.role.trains, logger: logger)
        self.retrains = retrains
        let clock = scheduleClock
        upkeep = StoreUpkeep(store: store, registry: host.registry, limits: configuration.retention,
                             interval: configuration.upkeepInterval, logger: logger)
        schedule = configuration.schedule.flatMap { plan in
            guard configuration.role.trains else { return nil }
            return
            RetrainSchedule(coordinator: retrains, host: host, store: store, interval: plan.interval, minSamples: plan.minSamples,
                            template: plan.options, clock: clock, logger: logger)
        }
    }

    /// What this process does in the deployment.
    public let role: ProcessRole

    /// The loop's lifecycle services, in start order.
    public var services: [any Service] {
        // Retention on a shared store runs once, on the trainer.
        [retrains] + (role.trains ? [upkeep] : []) + (schedule.map { [$0] } ?? [])
    }

    /// Stops the loop's threads (for servers run without a service group).
    public func shutdown() {
        intake.shutdown()
        retrains.shutdown()
        review.shutdown()
    }

    // Admin operations on quarantined and unwanted feedback.

    public func quarantined(model: String) async throws -> (model: String, events: [QuarantinedEvent]) {
        try await intake.withStore(model: model) { store, name in try store.quarantinedEvents(model: name) }
    }

    public func release(model: String, _ selector: FeedbackSelector) async throws -> Int {
        try await intake.withStore(model: model) { store, name in try store.release(model: name, selector) }.1
    }

    public func discard(model: String, _ selector: FeedbackSelector) async throws -> Int {
        try await intake.withStore(model: model) { store, name in try store.discard(model: name, selector) }.1
    }
}
