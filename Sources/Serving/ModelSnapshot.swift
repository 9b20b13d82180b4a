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
    /// Activation buffers for the forward pass. Only the batch scheduler calls `run`, and it runs
    /// one forward pass at a time (its `running` flag); that exclusion is why this class can be
    /// `@unchecked Sendable`.
    private var sessions: [Bool: InferenceSession] = [:]

    public var labels: [String] { spec.labels }
    public var classCount: Int { spec.classCount }
    public var embeddingSize: Int { model.embeddingSize }

    public init(name: String, version: Int, model: InferenceModel, smallBatchModel: InferenceModel? = nil,
                record: VersionRecord = VersionRecord(), metrics: [String: Double] = [:], boundaryThreshold: Float) {
        self.name = name
        self.version = version
        self.model = model
        self.smallBatchModel = smallBatchModel ?? model
        spec = model.spec
        preprocess = PreprocessSpec(model.spec.input)
        self.record = record
        self.metrics = metrics
        self.boundaryThreshold = boundaryThreshold
    }

    /// How a loaded version picks its convolution kernels: by timing them at batch 1 and at the
    /// largest batch on `threads` cores, reusing what `cache` already timed for the same shapes.
    public struct Tuning: Sendable {
        public var threads: Int
        public var maxBatch: Int
        public var cache: ConvolutionTuningCache
        public init(threads: Int, maxBatch: Int, cache: ConvolutionTuningCache = ConvolutionTuningCache()) {
            self.threads = threads
            self.maxBatch = maxBatch
            self.cache = cache
        }
    }

    /// Loads version `version` of `name` from the registry, folds it for inference and, given
    /// `tuning`, times each convolution's algorithms at batch 1 and at the largest batch (cuDNN's
    /// benchmark mode) so both plans use the fastest kernels on this machine. Shapes the cache
    /// already holds are not timed again, so only a model's first version pays for tuning.
    public static func load(from registry: ModelRegistry, name: String, version: Int,
                            defaultBoundaryThreshold: Float, tuning: Tuning? = nil) throws -> ModelSnapshot {
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
        return ModelSnapshot(name: name, version: version, model: large, smallBatchModel: small, record: record,
                             metrics: Self.readMetrics(in: directory), boundaryThreshold: threshold)
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
