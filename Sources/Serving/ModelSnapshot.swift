import Foundation
import Imaging
import NeuralNet
import Training

/// One loaded version of one model: immutable weights, labels and input spec.
///
/// Requests hold a strong reference from admission to reply, so a request that started on a
/// snapshot finishes on it even after a swap; the snapshot is freed with its last request.
public final class ModelSnapshot: @unchecked Sendable {
    public let name: String
    public let version: Int
    public let spec: ModelSpec
    public let preprocess: PreprocessSpec
    public let record: VersionRecord
    /// Evaluation metrics recorded with the version (metrics.json), e.g. "test_accuracy".
    public let metrics: [String: Double]
    public let boundaryThreshold: Float
    /// The version whose convolutional backbone this one shares: itself, unless it came from a
    /// head-only retrain (which changes only the final layer). Embeddings are keyed by it.
    public var backboneVersion: Int { record.lineage["backbone_version"].flatMap(Int.init) ?? version }
    /// The plan for full batches, and one for batches of a few images: the fastest convolution
    /// algorithm per layer differs between the two (Winograd pays off on big GEMMs).
    public let model: InferenceModel
    let smallBatchModel: InferenceModel
    /// Batches up to this size run the small-batch plan.
    static let smallBatchLimit = 4
    /// Whether requests under load share batched passes (`run`) or each runs to completion on its
    /// decode worker (`runAlone`); see `BatchingProbe`.
    public let batchingPays: Bool
    /// What `BatchingProbe` timed when it decided `batchingPays` (`--batching auto`), for the log.
    public let batchingProbe: BatchingProbe.Measurement?
    /// Activation buffers for the forward pass. Only the batch scheduler calls `run`, and it runs
    /// one forward pass at a time (its `running` flag); that exclusion, and the lock around
    /// `spareSessions`, are why this class can be `@unchecked Sendable`.
    private var sessions: [Bool: InferenceSession] = [:]
    /// One-core sessions for `runAlone`, whose passes run side by side on the decode workers: each
    /// pass takes one and puts it back, so there are as many as passes ever ran at once.
    private var spareSessions: [InferenceSession] = []
    private let spareSessionsLock = NSLock()

    public var labels: [String] { spec.labels }
    public var classCount: Int { spec.classCount }
    public var embeddingSize: Int { model.embeddingSize }

    public init(name: String, version: Int, model: InferenceModel, smallBatchModel: InferenceModel? = nil,
                record: VersionRecord = VersionRecord(), metrics: [String: Double] = [:], boundaryThreshold: Float,
                batchingPays: Bool = true, batchingProbe: BatchingProbe.Measurement? = nil) {
        self.name = name
        self.version = version
        self.model = model
        self.smallBatchModel = smallBatchModel ?? model
        spec = model.spec
        preprocess = PreprocessSpec(model.spec.input)
        self.record = record
        self.metrics = metrics
        self.boundaryThreshold = boundaryThreshold
        self.batchingPays = batchingPays
        self.batchingProbe = batchingProbe
    }

    /// How a loaded version picks its convolution kernels: by timing them at batch 1 and at the
    /// largest batch on `threads` cores, reusing what `cache` already timed for the same shapes.
    public struct Tuning: Sendable {
        public var threads: Int
        public var maxBatch: Int
        public var cache: ConvolutionTuningCache
        /// The batching window, which bounds how long a one-core pass may take for `--batching
        /// auto` to run requests alone.
        public var batchWindow: Duration
        public var probes: BatchingProbe.Cache
        public init(threads: Int, maxBatch: Int, cache: ConvolutionTuningCache = ConvolutionTuningCache(),
                    batchWindow: Duration = .milliseconds(2), probes: BatchingProbe.Cache = BatchingProbe.Cache()) {
            self.threads = threads
            self.maxBatch = maxBatch
            self.cache = cache
            self.batchWindow = batchWindow
            self.probes = probes
        }
    }

    /// Loads version `version` of `name` from the registry, folds it for inference and, given
    /// `tuning`, times each convolution's algorithms at batch 1 and at the largest batch (cuDNN's
    /// benchmark mode) so both plans use the fastest kernels on this machine. Shapes the cache
    /// already holds are not timed again, so only a model's first version pays for tuning.
    /// `batching` `.auto` probes whether batching pays when it tunes (once per architecture), and
    /// batches otherwise.
    public static func load(from registry: ModelRegistry, name: String, version: Int,
                            defaultBoundaryThreshold: Float, tuning: Tuning? = nil,
                            batching: BatchingPolicy = .always) throws -> ModelSnapshot {
        let directory = registry.directory(of: name, version: version)
        let network: Network
        do {
            network = try ModelDirectory.load(directory)
        } catch {
            throw ServingError.loadFailed(model: name, version: version, reason: String(describing: error))
        }
        let record = registry.record(of: name, version: version)
        let threshold = record.lineage["boundary_threshold"].flatMap(Float.init) ?? defaultBoundaryThreshold
        let folded = network.inferenceModel()
        let large = tuning.map { folded.tuned(batch: $0.maxBatch, threads: $0.threads, cache: $0.cache) } ?? folded
        let small = tuning.map { folded.tuned(batch: 1, threads: $0.threads, cache: $0.cache) } ?? folded
        var probe: BatchingProbe.Measurement?
        let batchingPays: Bool
        switch batching {
        case .always: batchingPays = true
        case .never: batchingPays = false
        case .auto:
            if let tuning {
                probe = tuning.probes.measurement(for: network.spec, maxBatch: tuning.maxBatch) {
                    BatchingProbe.measure(small: small, large: large, maxBatch: tuning.maxBatch)
                }
                // No measurement: the model never batches, and the batcher runs it one request at a time.
                batchingPays = probe?.prefersBatching(window: tuning.batchWindow) ?? true
            } else {
                batchingPays = true  // untuned (debug) kernels' timings would decide nothing useful
            }
        }
        return ModelSnapshot(name: name, version: version, model: large, smallBatchModel: small, record: record,
                             metrics: Self.readMetrics(in: directory), boundaryThreshold: threshold,
                             batchingPays: batchingPays, batchingProbe: probe)
    }

    deinit {
        // The last request on a replaced version just finished: give its buffers back now.
        AllocatorTuning.returnFreedMemorySoon()
    }

    /// input [N, C, H, W] → probabilities [N, classes] and optionally embeddings [N, E]. Only the
    /// batch scheduler calls this, one forward pass at a time (on its thread, or inline on a decode
    /// worker for a lone request).
    func run(_ input: UnsafePointer<Float>, batch: Int, threads: Int,
             probabilities: UnsafeMutablePointer<Float>, embeddings: UnsafeMutablePointer<Float>?) {
        let small = batch <= Self.smallBatchLimit
        let session: InferenceSession
        if let existing = sessions[small], existing.pool.threads == threads {
            session = existing
        } else {
            session = InferenceSession(model: small ? smallBatchModel : model, threads: threads)
            sessions[small] = session
        }
        session.run(input, batch: batch, probabilities: probabilities, embeddings: embeddings)
    }

    /// Sessions made so far: shared (for `run`) and one-core spares (for `runAlone`), for tests.
    var sessionCounts: (shared: Int, spare: Int) {
        spareSessionsLock.withLock { (sessions.count, spareSessions.count) }
    }

    /// One image [C, H, W] → probabilities [classes] and optionally the embedding [E], on the
    /// calling thread alone. Any number of callers may run at once, each on a session of its own.
    func runAlone(_ input: UnsafePointer<Float>, probabilities: UnsafeMutablePointer<Float>,
                  embeddings: UnsafeMutablePointer<Float>?) {
        let session = spareSessionsLock.withLock { spareSessions.popLast() }
            ?? InferenceSession(model: smallBatchModel, threads: 1)
        session.run(input, batch: 1, probabilities: probabilities, embeddings: embeddings)
        spareSessionsLock.withLock { spareSessions.append(session) }
    }

    /// The quality figures among metrics.json's numeric top-level entries ("accuracy" →
    /// "test_accuracy", since the trainer evaluates on the test split; counts are left out) plus
    /// the best validation accuracy from history.json.
    static func readMetrics(in directory: URL) -> [String: Double] {
        var metrics: [String: Double] = [:]
        if let data = FileManager.default.contents(atPath: directory.appendingPathComponent("metrics.json").path),
           let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            for (key, value) in object {
                guard let number = value as? Double,
                      ["accuracy", "f1", "precision", "recall", "loss"].contains(where: key.lowercased().contains) else { continue }
                metrics[key == "accuracy" ? "test_accuracy" : key] = number
            }
        }
        let validation = ModelDirectory.history(in: directory).compactMap(\.valAccuracy)
        if let best = validation.max() { metrics["best_val_accuracy"] = best }
        return metrics
    }
}

/// Which version of a model a request wants.
public enum VersionSelector: Sendable, Equatable {
    /// The version the registry's serving pointer names ("", "stable" or "serving").
    case serving
    /// The highest registered version ("latest").
    case latest
    case number(Int)

    public init(parsing text: String) throws {
        switch text.trimmingCharacters(in: .whitespaces).lowercased() {
        case "", "stable", "serving": self = .serving
        case "latest": self = .latest
        case let other:
            guard let number = Int(other), number > 0 else {
                throw ServingError.invalidArgument(
                    "version \(EchoedValue.quoted(text)) is not a version: use a positive number, 'stable' (the serving version) or 'latest'")
            }
            self = .number(number)
        }
    }
}
