import FeedbackStore
import Foundation
import Logging
import NeuralNet
import ServiceLifecycle
import Synchronization
import Training

/// Runs retrains: one per model at a time, on its own thread budget, beside serving.
///
/// A job fine-tunes a copy of the serving version on the queued feedback, evaluates the serving
/// version and the candidate on the same held-out sets, and promotes the candidate only if the
/// gate accepts it: not worse on the held-out set (within `tolerance`) and better on the held-out
/// boundary samples. Promotion registers a new version (lineage: parent, feedback consumed,
/// training-set hash, metrics) and swaps it in through the registry; old versions stay for
/// rollback. Nothing is written until the gate has decided, so a job killed half-way leaves the
/// serving version untouched (its staging directory is removed at the next start).
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
    /// Embeddings predicted images came with (head-only retrains on feedback need no forward pass).
    private let recent: RecentImages?
    /// Embeddings computed for retrains, by "model@backbone#key"; only the latest backbone of each
    /// model is kept.
    private let embeddingCache = Mutex<[String: [Float]]>([:])
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

    /// - Parameter threads: cores a retrain may use (serving keeps the rest).
    public init(host: ModelHost, store: any FeedbackStore, recent: RecentImages? = nil, threads: Int = 1,
                warmUp: Bool = ServingConfiguration.tuneKernelsByDefault, logger: Logger) {
        self.warmUp = warmUp
        self.host = host
        self.recent = recent
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
        if warmUp { await prepare() }
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
            _ = try? await worker.run { try self.warm(snapshot) }
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
            let outcome = try await worker.run { try self.run(job, options: work.options, parent: parent) }
            if outcome.promoted {
                await host.synchronize()  // Serve it now, not at the next registry poll.
                if warmUp, let promoted = try? await host.snapshot(model: parent.name, version: .serving),
                   promoted.backboneVersion != parent.backboneVersion {
                    _ = try? await worker.run { try self.warm(promoted) }  // A new backbone: new embeddings.
                }
            }
            job.publish(RetrainUpdate(jobID: job.id, phase: .done, outcome: outcome))
            logger.notice("retrain finished", metadata: [
                "model": "\(parent.name)", "job": "\(job.id)", "promoted": "\(outcome.promoted)", "reason": "\(outcome.reason)",
            ])
        } catch {
            logger.error("retrain failed", metadata: ["model": "\(parent.name)", "job": "\(job.id)", "error": "\(error)"])
            job.publish(RetrainUpdate(jobID: job.id, phase: .failed, error: String(describing: error)))
        }
    }

    /// The job's work, on the retrain thread.
    private func run(_ job: RetrainJob, options: RetrainOptions, parent: ModelSnapshot) throws -> RetrainOutcome {
        var outcome = RetrainOutcome(candidateVersion: nil, promoted: false, reason: "", before: nil, after: nil,
                                     parentVersion: parent.version, feedbackSamples: 0, replaySamples: 0, labels: parent.labels)
        job.publish(RetrainUpdate(jobID: job.id, phase: .preparing))
        let pending = try store.pendingSamples(model: parent.name)
        guard pending.count >= options.minNewSamples else {
            outcome.reason = "only \(pending.count) new feedback samples; at least \(options.minNewSamples) required"
            return outcome
        }
        let directory = host.registry.directory(of: parent.name, version: parent.version)
        let network = try ModelDirectory.load(directory, threads: threads)
        let sets = try TrainingSetBuilder(spec: network.spec, modelDirectory: directory, store: store)
            .build(pending: pending, replayRatio: options.replayRatio, seed: UInt64(pending.count))
        outcome.feedbackSamples = sets.feedbackTrain
        outcome.replaySamples = sets.replay
        guard sets.feedbackTrain > 0 else {
            outcome.reason = "all \(pending.count) pending samples fall in the held-out share; submit more feedback"
            return outcome
        }
        let config = FineTuneConfig(mode: options.mode, epochs: options.epochs, learningRate: options.learningRate,
                                    boundaryWeight: options.upsampling, threads: threads, seed: UInt64(pending.count))
        let started = Date()
        let report = { (epoch: Int, loss: Double, accuracy: Double) in
            let elapsed = Date().timeIntervalSince(started)
            job.publish(RetrainUpdate(jobID: job.id, phase: .training, epoch: epoch, epochs: config.epochs, loss: loss,
                                      accuracy: accuracy,
                                      etaSeconds: elapsed / Double(epoch) * Double(config.epochs - epoch)))
        }
        let after: FineTuneEvaluation
        if config.mode == .head {
            // The backbone stays the serving version's, so one set of embeddings serves training
            // and scoring both heads; most come from Predict or the cache, not a forward pass.
            let trainEmbeddings = embeddings(sets.trainKeys, sets.train, parent: parent)
            let heldOutEmbeddings = embeddings(sets.heldOutKeys, sets.heldOut, parent: parent)
            outcome.before = FineTuner.evaluateHead(network, embeddings: heldOutEmbeddings, on: sets.heldOut)
            FineTuner.runHead(network, embeddings: trainEmbeddings, samples: sets.train, config: config, progress: report)
            job.publish(RetrainUpdate(jobID: job.id, phase: .evaluating))
            after = FineTuner.evaluateHead(network, embeddings: heldOutEmbeddings, on: sets.heldOut)
        } else {
            outcome.before = FineTuner.evaluate(parent.model, on: sets.heldOut, threads: threads)
            FineTuner.run(network, on: sets.train, config: config, progress: report)
            job.publish(RetrainUpdate(jobID: job.id, phase: .evaluating))
            after = FineTuner.evaluate(network.inferenceModel(), on: sets.heldOut, threads: threads)
        }
        outcome.after = after
        let decision = Self.gate(before: outcome.before!, after: after, tolerance: options.tolerance)
        outcome.reason = decision.reason
        guard decision.promote else { return outcome }
        guard !options.dryRun else {
            outcome.reason = "dry run: the gate would promote (\(decision.reason))"
            return outcome
        }
        job.publish(RetrainUpdate(jobID: job.id, phase: .promoting))
        outcome.candidateVersion = try promote(network, parent: parent, sets: sets, options: options,
                                               before: outcome.before!, after: after)
        outcome.promoted = true
        return outcome
    }

    /// Embeddings [N, E] for `samples` under the parent's backbone: from Predict's memory, the
    /// cache, or (for the rest) one batched pass through the serving model, then cached.
    private func embeddings(_ keys: [String], _ samples: [LabelledInput], parent: ModelSnapshot) -> [Float] {
        let size = parent.embeddingSize
        let prefix = "\(parent.name)@\(parent.backboneVersion)#"
        var result = [Float](repeating: 0, count: samples.count * size)
        var missing: [Int] = []
        let cached = embeddingCache.withLock { cache in keys.map { cache[prefix + $0] } }
        for (index, key) in keys.enumerated() {
            let found = cached[index] ?? recent?.embedding(for: key, model: parent.name, backbone: parent.backboneVersion)
            if let found, found.count == size {
                result.replaceSubrange(index * size..<(index + 1) * size, with: found)
            } else {
                missing.append(index)
            }
        }
        guard !missing.isEmpty else { return result }
        // Then the store, which keeps the embeddings feedback arrived with (and earlier retrains').
        let imageKeys = missing.map { keys[$0] }.filter { $0.count == 64 && !$0.contains(":") }
        let stored = (try? store.embeddings(model: parent.name, version: parent.backboneVersion, imageIDs: imageKeys)) ?? [:]
        missing = missing.filter { index in
            guard let vector = stored[keys[index]], vector.count == size else { return true }
            result.replaceSubrange(index * size..<(index + 1) * size, with: vector)
            return false
        }
        guard !missing.isEmpty else { return result }
        let computed = FineTuner.embed(parent.model, missing.map { samples[$0] }, threads: threads)
        embeddingCache.withLock { cache in
            // Drop the embeddings of the model's older backbones.
            if cache.keys.contains(where: { $0.hasPrefix("\(parent.name)@") && !$0.hasPrefix(prefix) }) {
                cache = cache.filter { !$0.key.hasPrefix("\(parent.name)@") || $0.key.hasPrefix(prefix) }
            }
            for (row, index) in missing.enumerated() {
                let vector = Array(computed[row * size..<(row + 1) * size])
                cache[prefix + keys[index]] = vector
                result.replaceSubrange(index * size..<(index + 1) * size, with: vector)
            }
        }
        var toStore: [String: [Float]] = [:]
        for (row, index) in missing.enumerated() where keys[index].count == 64 && !keys[index].contains(":") {
            toStore[keys[index]] = Array(computed[row * size..<(row + 1) * size])
        }
        try? store.storeEmbeddings(toStore, model: parent.name, version: parent.backboneVersion)
        return result
    }

    /// Embeds a model's base data (replay and held-out) into the cache.
    private func warm(_ snapshot: ModelSnapshot) throws {
        let directory = host.registry.directory(of: snapshot.name, version: snapshot.version)
        let base = try TrainingSetBuilder(spec: snapshot.spec, modelDirectory: directory, store: store)
            .baseSets(replay: Self.warmReplay)
        _ = embeddings(base.replayKeys + base.heldOutKeys, base.replay + base.heldOut, parent: snapshot)
    }

    static let warmReplay = 2000

    /// The promotion gate. Both rules must hold; the reason names the numbers that decided.
    static func gate(before: FineTuneEvaluation, after: FineTuneEvaluation, tolerance: Double) -> (promote: Bool, reason: String) {
        func f(_ x: Double) -> String { String(format: "%.3f", x) }
        guard after.accuracy >= before.accuracy - tolerance else {
            return (false, "refused: worse on the held-out set (\(f(after.accuracy)) vs \(f(before.accuracy)), tolerance \(f(tolerance)))")
        }
        guard after.boundarySamples > 0 else {
            return (false, "refused: no held-out boundary samples to prove an improvement on; submit more deselections")
        }
        guard after.boundaryAccuracy > before.boundaryAccuracy else {
            return (false, "refused: not better on the held-out boundary samples (\(f(after.boundaryAccuracy)) vs \(f(before.boundaryAccuracy)))")
        }
        return (true, "promoted: not worse on the held-out set (\(f(after.accuracy)) vs \(f(before.accuracy))) and better on "
                    + "\(after.boundarySamples) held-out boundary samples (\(f(after.boundaryAccuracy)) vs \(f(before.boundaryAccuracy)))")
    }

    private func promote(_ network: Network, parent: ModelSnapshot, sets: TrainingSetBuilder.Sets, options: RetrainOptions,
                         before: FineTuneEvaluation, after: FineTuneEvaluation) throws -> Int {
        let registry = host.registry
        // Inside the model's directory with the staging prefix, so start-up removes it after a crash.
        let staging = registry.directory(of: parent.name).appendingPathComponent(".staging-retrain-\(getpid())-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: staging) }
        let parentDirectory = registry.directory(of: parent.name, version: parent.version)
        let metrics = ["accuracy": after.accuracy, "boundary_accuracy": after.boundaryAccuracy]
        try ModelDirectory.write(network, to: staging, metrics: try JSONSerialization.data(withJSONObject: metrics),
                                 trainingInfo: (try? JSONDecoder().decode([String: String].self, from: Data(
                                    contentsOf: parentDirectory.appendingPathComponent("training.json")))) ?? [:])
        let mode = switch options.mode {
        case .head: "head"
        case .full(let unfreeze): unfreeze.map { "full-unfreeze-\($0)" } ?? "full"
        }
        var lineage: [String: String] = [
            "source": "retrain of v\(parent.version) on feedback",
            "mode": mode, "epochs": String(options.epochs), "boundary_upsampling": String(options.upsampling),
            "feedback_samples": String(sets.feedbackTrain), "replay_samples": String(sets.replay),
            "training_set_sha256": sets.hash,
            "feedback_sample_ids": sets.consumedSampleIDs.count <= 50
                ? sets.consumedSampleIDs.map(String.init).joined(separator: ",")
                : "\(sets.consumedSampleIDs.first!)…\(sets.consumedSampleIDs.last!) (\(sets.consumedSampleIDs.count))",
            "heldout_accuracy_before": String(before.accuracy), "heldout_accuracy_after": String(after.accuracy),
            "boundary_accuracy_before": String(before.boundaryAccuracy), "boundary_accuracy_after": String(after.boundaryAccuracy),
        ]
        // A head-only candidate keeps the parent's backbone, and with it every cached embedding.
        if options.mode == .head { lineage["backbone_version"] = String(parent.backboneVersion) }
        let version = try registry.register(modelDirectory: staging, name: parent.name,
                                            record: VersionRecord(parent: parent.version, lineage: lineage))
        try store.markConsumed(sets.consumedSampleIDs, byVersion: version)
        return version
    }
}
