import BoundaryAPI
import Foundation
import GRPCCore
import ImageSearch
import Logging
import Metrics
import Retraining
import ServiceLifecycle
import Serving

/// The one place a Boundary server is assembled, for `boundary serve` and for the tests alike: the
/// registry, the serving runtime, the gRPC services and interceptors, and the lifecycle services
/// to run in a `ServiceGroup`. Only the transport differs (HTTP/2 in production, in-process or
/// HTTP/2 on port 0 in tests), so tests exercise exactly what ships.
public final class BoundaryServerBuilder: Sendable {
    public let configuration: BoundaryServerConfiguration
    public let registry: ModelRegistry
    public let host: ModelHost
    public let predictor: Predictor
    /// Grad-CAM and feature maps, on their own thread beside serving.
    public let explainer: Explainer
    /// Feedback intake, retrains, their schedule and the store's upkeep.
    public let loop: LearningLoop
    public var feedback: FeedbackIntake { loop.intake }
    public var retrains: RetrainCoordinator { loop.retrains }
    /// Search by picture and by word over every predicted image.
    public let search: ImageSearch
    /// Predictions on their way from Predict to the search index.
    public let predictionFeed: PredictionFeed
    /// Copies predicted images to a store shared with other replicas (nil on the embedded store).
    public let sharedImages: SharedImageMemory?
    public let health: HealthStatusBoard
    /// Set when graceful shutdown begins, so in-flight requests finish instead of being cancelled.
    public let drain = DrainState()
    public let logger: Logger
    /// Where every front end (gRPC, HTTP) records its metrics.
    public let metricsFactory: any MetricsFactory

    /// Health service names that turn SERVING once a model is loaded.
    public static let healthServices = ["", "boundary.v1.Inference", "boundary.v1.Models"]

    public init(configuration: BoundaryServerConfiguration, metricsFactory: any MetricsFactory, logger: Logger) throws {
        try configuration.serving.validate()
        self.configuration = configuration
        self.logger = logger
        self.metricsFactory = metricsFactory
        registry = ModelRegistry(dataDirectory: configuration.dataDirectory)
        let health = HealthStatusBoard(initial: Dictionary(uniqueKeysWithValues: Self.healthServices.map { ($0, .notServing) }))
        self.health = health
        let metrics = ServingMetrics(factory: metricsFactory)
        host = ModelHost(registry: registry, configuration: configuration.serving, metrics: metrics, logger: logger) { serving in
            let status: Grpc_Health_V1_HealthCheckResponse.ServingStatus = serving.isEmpty ? .notServing : .serving
            for service in Self.healthServices { health.set(status, for: service) }
        }
        let feed = PredictionFeed()
        predictionFeed = feed
        let recent = RecentImages(capacityBytes: configuration.recentImageBytes)
        let sharedStore = try configuration.openStore?()
        // A store other replicas share gets this one's predicted images, for feedback by id anywhere.
        sharedImages = sharedStore.flatMap {
            SharedImageMemory.forStore($0, recent: recent, metricsFactory: metricsFactory, logger: logger)
        }
        predictor = Predictor(host: host, configuration: configuration.serving, metrics: metrics,
                              limits: configuration.imagingLimits, recentImages: recent, feed: feed, sharedFeed: sharedImages?.feed)
        explainer = Explainer(host: host, recentImages: recent, limits: configuration.imagingLimits)
        try FileManager.default.createDirectory(at: configuration.dataDirectory, withIntermediateDirectories: true)
        if let sharedStore {
            loop = LearningLoop(host: host, recent: predictor.recentImages, store: sharedStore,
                                limits: configuration.imagingLimits, configuration: configuration.learning, logger: logger)
        } else {
            loop = try LearningLoop(host: host, recent: predictor.recentImages,
                                    storePath: configuration.dataDirectory.appendingPathComponent("feedback.sqlite"),
                                    limits: configuration.imagingLimits, configuration: configuration.learning, logger: logger)
        }
        var searchConfiguration = configuration.search
        // Other replicas add to a shared store's index: follow them.
        if sharedImages != nil {
            if searchConfiguration.followStoreEvery == nil { searchConfiguration.followStoreEvery = .seconds(1) }
            searchConfiguration.reembeds = loop.role.trains  // The trainer re-embeds once for everyone.
        }
        let search = ImageSearch(host: host, predictor: predictor, store: loop.store, intake: loop.intake,
                                 configuration: searchConfiguration)
        self.search = search
        // Feedback may send images Predict never saw; the index takes them too.
        loop.intake.observeStoredImages { [weak search] model, images in search?.indexInBackground(images, model: model) }
    }

    /// Readies the data directory and loads the serving versions: removes what a killed process
    /// left half-written, registers the seed models a fresh directory lacks, then loads. Returns
    /// the serving version of each model. Health turns SERVING here if any model loaded.
    ///
    /// A serving-only replica (`--role serve`) shares the registry with the trainer, which alone
    /// writes to it: it neither cleans staging (the trainer's retrain may be writing there) nor
    /// registers seeds (they would race the trainer's); it serves what the trainer registered.
    @discardableResult
    public func prepare() async throws -> [String: Int] {
        try FileManager.default.createDirectory(at: registry.root, withIntermediateDirectories: true)
        guard loop.role.trains else { return try await synchronizeAndReport() }
        for removed in try registry.removeStaleStaging() {
            logger.warning("removed a partial registration left by an interrupted process", metadata: ["path": "\(removed.path)"])
        }
        let existing = Set(try registry.modelNames())
        for seed in configuration.seedModels where !existing.contains(seed.name) {
            let version = try registry.register(
                modelDirectory: seed.directory, name: seed.name,
                record: VersionRecord(lineage: ["source": "seeded from \(seed.directory.lastPathComponent)"]))
            logger.info("registered seed model", metadata: ["model": "\(seed.name)", "version": "\(version)",
                                                            "source": "\(seed.directory.path)"])
        }
        return try await synchronizeAndReport()
    }

    private func synchronizeAndReport() async throws -> [String: Int] {
        let serving = await host.synchronize()
        if serving.isEmpty {
            logger.warning("no model to serve yet; health stays NOT_SERVING until one is registered",
                           metadata: ["registry": "\(registry.root.path)"])
        }
        return serving
    }

    /// Stops the runtime's threads (what `ServingRuntimeService` does at the end of a graceful
    /// shutdown), for callers that run the server without a service group.
    public func shutdown() {
        predictor.shutdown()
        explainer.shutdown()
        loop.shutdown()
        search.shutdown()
    }

    /// The gRPC services: Inference, Models, Feedback, Review, Search, Health and Reflection.
    public func services() throws -> [any RegistrableRPCService] {
        let names = ["boundary.v1.Inference", "boundary.v1.Models", "boundary.v1.Feedback", "boundary.v1.Review", "boundary.v1.Search",
                     "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"]
        return [
            InferenceService(predictor: predictor, explainer: explainer, drain: drain, logger: logger,
                             streamWindow: configuration.streamWindow),
            ModelsService(host: host, logger: logger),
            FeedbackService(loop: loop, forwarder: configuration.retrainForwarder, logger: logger),
            ReviewService(catalog: loop.review, logger: logger),
            SearchService(search: search, logger: logger),
            HealthService(board: health),
            try ReflectionService(fileDescriptorSet: try APIDescriptors.fileDescriptorSet(), serviceNames: names),
        ]
    }

    /// Metrics first (so rejected calls are counted too), then the transport's refusals, then
    /// authentication.
    public func interceptors() -> [any ServerInterceptor] {
        var interceptors: [any ServerInterceptor] = [RPCMetricsInterceptor(factory: metricsFactory, drain: drain),
                                                     RefusedMessageInterceptor()]
        if let tokens = configuration.tokens {
            interceptors.append(AuthInterceptor(tokens: tokens, policy: AuthorizationPolicy(openRoles: configuration.openRoles), logger: logger))
        }
        return interceptors
    }

    public func makeServer<Transport: ServerTransport>(transport: Transport) throws -> GRPCServer<Transport> {
        GRPCServer(transport: transport, services: try services(), interceptors: interceptors())
    }

    /// The service that moves predictions into the search index (and rebuilds and trims it).
    public func searchIndexer(tick: Duration = .milliseconds(250)) -> SearchIndexer {
        SearchIndexer(search: search, tick: tick, logger: logger, metricsFactory: metricsFactory)
    }

    /// The services to run in one `ServiceGroup`, in start order. Shutdown runs in reverse: the gRPC
    /// server first turns health NOT_SERVING and drains its RPCs, then the registry watcher stops,
    /// then the decode and batching threads finish their queues.
    public func lifecycleServices<Transport: ServerTransport>(server: GRPCServer<Transport>) -> [any Service] {
        let health = health
        let drain = drain
        let intake = loop.intake, search = search, explainer = explainer
        return [
            ServingRuntimeService(predictor: predictor, alsoStopping: {
                intake.shutdown()
                search.shutdown()
                explainer.shutdown()
            }),
            RegistryWatcher(host: host, interval: configuration.registryPollInterval, logger: logger),
        ] + (sharedImages.map { [$0] } ?? []) + loop.services + [
            searchIndexer(),
            GRPCServerService(server: server, beforeShutdown: {
                drain.begin()
                health.shutdown()
            }),
        ]
    }
}
