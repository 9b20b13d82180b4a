import FeedbackStore
import Foundation
import Logging
import NeuralNet
import ServiceLifecycle
import Serving
import Synchronization
import Training

/// Runs retrains: one per model at a time, on its own thread budget, beside serving.
///
/// A job (`RetrainRun`) screens the queued feedback, fine-tunes a copy of the serving version on
/// it, judges both on the model's evaluation set and promotes the candidate only if the gate
/// (`PromotionGate`) accepts it. Promotion registers a new version with its lineage and swaps it
/// in through the registry; old versions stay for rollback. A job killed half-way leaves the
/// serving version untouched: its staging directory is removed, and its claimed samples return
/// to pending, at the next start.
///
/// It is a lifecycle `Service`: `start` queues a job, and `run` (in the server's service group)
/// executes queued jobs until graceful shutdown. The training itself runs on a dedicated thread.
public final class RetrainCoordinator: Service, Sendable {
    private let host: ModelHost
    private let store: any FeedbackStore
    private let worker: WorkerPool
    private let threads: Int
    private let logger: Logger
    private let jobs = Mutex<[String: RetrainJob]>([:])
    private let cache: EmbeddingCache
    /// Embed base data at start-up (release builds; in debug builds it would take minutes).
    private let warmUp: Bool
    private let counter = Mutex(0)
    private let queue: AsyncStream<Work>
    private let enqueue: AsyncStream<Work>.Continuation

    struct Work: Sendable {
        let job: RetrainJob
        let options: RetrainOptions
        let parent: ModelSnapshot
    }

    /// False on a serving-only replica: `start` refuses, the trainer runs retrains.
    private let acceptsJobs: Bool

    /// - Parameter threads: cores a retrain may use (serving keeps the rest).
    public init(host: ModelHost, store: any FeedbackStore, recent: RecentImages? = nil, threads: Int = 1,
                warmUp: Bool = ServingConfiguration.tuneKernelsByDefault, acceptsJobs: Bool = true, logger: Logger) {
        self.acceptsJobs = acceptsJobs
        self.warmUp = warmUp
        self.host = host
        cache = EmbeddingCache(store: store, recent: recent, logger: logger)
        self.store = store
        self.threads = threads
        self.logger = logger
        worker = WorkerPool(name: "boundary-retrain", workers: 1)
        (queue, enqueue) = AsyncStream.makeStream(of: Work.self)
    }

    /// Executes queued jobs until graceful shutdown; a job in progress finishes first.
    public func run() async throws {
        // Embed each served model's base data in the background now, so the first head retrain
        // does not have to.
        if warmUp && acceptsJobs { await prepare() }
        await withDiscardingTaskGroup { group in
            for await work in queue.cancelOnGracefulShutdown() {
                group.addTask { await self.execute(work) }
            }
        }
        worker.shutdown()
    }

    /// Embeds every served model's base data (replay and held-out sets) into the cache, on the
    /// retrain thread, so the next head retrain needs no forward pass for it.
    public func prepare() async {
        for snapshot in host.serving.values {
            do {
                try await worker.run { try self.warm(snapshot) }
            } catch {
                logger.warning("could not embed base data ahead of retrains; the first retrain will",
                               metadata: ["model": "\(snapshot.name)", "error": "\(error)"])
            }
        }
    }

    /// Stops accepting jobs (for servers run without a service group).
    public func shutdown() {
        enqueue.finish()
        worker.shutdown()
    }

    /// The running or most recent job of `model` (empty: the default model).
    public func job(model: String) async throws -> RetrainJob {
        let name = try await host.snapshot(model: model, version: .serving).name
        guard let job = jobs.withLock({ $0[name] }) else { throw ServingError.noRetrain(model: name) }
        return job
    }

    /// Starts a retrain and returns its job at once; the work continues without the caller.
    public func start(_ options: RetrainOptions) async throws -> RetrainJob {
        guard acceptsJobs else { throw ServingError.retrainsRunElsewhere }
        let snapshot = try await host.snapshot(model: options.model, version: .serving)
        let id = counter.withLock { count -> String in
            count += 1
            return "\(snapshot.name)-\(Int(Date().timeIntervalSince1970))-\(count)"
        }
        let job = RetrainJob(id: id, model: snapshot.name)
        try jobs.withLock { jobs in
            if let running = jobs[snapshot.name], !running.isFinished {
                throw ServingError.retrainRunning(model: snapshot.name, jobID: running.id)
            }
            jobs[snapshot.name] = job
        }
        job.publish(RetrainUpdate(jobID: id, phase: .queued))
        if case .terminated = enqueue.yield(Work(job: job, options: options, parent: snapshot)) {
            job.publish(RetrainUpdate(jobID: id, phase: .failed, error: ServingError.shuttingDown.description))
        }
        return job
    }

    private func execute(_ work: Work) async {
        let (job, parent) = (work.job, work.parent)
        do {
            let run = RetrainRun(job: job, options: work.options, parent: parent, store: store, registry: host.registry,
                                 cache: cache, threads: threads, logger: logger)
            let outcome = try await worker.run { try run.execute() }
            if outcome.promoted {
                await host.synchronize()  // Serve it now, not at the next registry poll.
                let promoted = try await host.snapshot(model: parent.name, version: .serving)
                if warmUp, promoted.backboneVersion != parent.backboneVersion {
                    try await worker.run { try self.warm(promoted) }  // A new backbone: new embeddings.
                }
            }
            job.publish(RetrainUpdate(jobID: job.id, phase: .done, outcome: outcome))
            logger.notice("retrain finished", metadata: [
                "model": "\(parent.name)", "job": "\(job.id)", "promoted": "\(outcome.promoted)", "reason": "\(outcome.reason)",
                "quarantined": "\(outcome.quarantinedSamples)", "unusable": "\(outcome.unusableSamples)",
            ])
        } catch {
            logger.error("retrain failed", metadata: ["model": "\(parent.name)", "job": "\(job.id)", "error": "\(error)"])
            job.publish(RetrainUpdate(jobID: job.id, phase: .failed, error: String(describing: error)))
        }
    }

    /// Embeds a model's base data (replay and evaluation) so the next head retrain needs no
    /// forward pass for it; what the store already keeps for this backbone is only read.
    private func warm(_ snapshot: ModelSnapshot) throws {
        let directory = host.registry.directory(of: snapshot.name, version: snapshot.version)
        let builder = TrainingSetBuilder(spec: snapshot.spec, modelDirectory: directory, store: store)
        let items = try builder.replayItems(count: Self.warmReplay)
            + builder.evaluationItems(perClass: GatePolicy().minEvaluationPerClass)
        _ = try cache.embeddings(items, parent: snapshot, threads: threads)
    }

    static let warmReplay = 2000
}
