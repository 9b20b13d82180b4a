import FeedbackStore
import Foundation
import Training
import Imaging

/// An image a reviewer points at: an id Predict returned, or the bytes.
public enum ImageReference: Sendable, Equatable {
    case id(String)
    case bytes(Data)
}

/// One lasso selection as the API receives it.
public struct FeedbackSubmission: Sendable {
    public var model: String
    public var label: String
    public var kept: [ImageReference]
    public var deselected: [ImageReference]
    public var corrections: [(image: ImageReference, label: String)]
    public var userID: String
    public var idempotencyKey: String

    public init(model: String = "", label: String, kept: [ImageReference] = [], deselected: [ImageReference] = [],
                corrections: [(image: ImageReference, label: String)] = [], userID: String = "",
                idempotencyKey: String) {
        self.model = model
        self.label = label
        self.kept = kept
        self.deselected = deselected
        self.corrections = corrections
        self.userID = userID
        self.idempotencyKey = idempotencyKey
    }
}

/// Validates feedback against the served model and stores it durably, all or nothing: every label
/// must be one of the model's and every image id must be known before anything is written, and
/// the write is one fsynced transaction that completes before the caller is answered.
public final class FeedbackIntake: Sendable {
    public let store: any FeedbackStore
    private let host: ModelHost
    private let recent: RecentImages
    private let limits: ImagingLimits
    /// Store writes block on fsync and decoding checks are CPU work: both stay off the cooperative pool.
    private let worker: WorkerPool

    public static let maxSamplesPerEvent = 10_000

    public init(host: ModelHost, store: any FeedbackStore, recent: RecentImages, limits: ImagingLimits = .default) {
        self.host = host
        self.store = store
        self.recent = recent
        self.limits = limits
        worker = WorkerPool(name: "boundary-feedback", workers: 1)
    }

    public func shutdown() { worker.shutdown() }

    public func submit(_ submission: FeedbackSubmission) async throws -> FeedbackReceipt {
        let key = submission.idempotencyKey
        guard !key.isEmpty, key.count <= 256 else {
            throw ServingError.invalidArgument("idempotency_key is required (1-256 characters, unique per selection) "
                                               + "so a retried submission is not counted twice")
        }
        let snapshot = try await host.snapshot(model: submission.model, version: .serving)
        let labels = Set(snapshot.labels)
        for label in [submission.label] + submission.corrections.map(\.label) where !labels.contains(label) {
            throw ServingError.unknownLabel(label, model: snapshot.name, labels: snapshot.labels)
        }
        let count = submission.kept.count + submission.deselected.count + submission.corrections.count
        guard count > 0 else {
            throw ServingError.invalidArgument("the selection is empty: send kept, deselected or corrected images")
        }
        guard count <= Self.maxSamplesPerEvent else {
            throw ServingError.invalidArgument("\(count) samples in one selection; split it into events of at most \(Self.maxSamplesPerEvent)")
        }
        let recent = recent, store = store, limits = limits, spec = snapshot.preprocess
        let model = snapshot.name
        let backbone = snapshot.backboneVersion
        return try await worker.run {
            var images: [String: Data] = [:]
            var embeddings: [String: [Float]] = [:]
            var unresolved: [String] = []
            func resolve(_ reference: ImageReference) throws -> String {
                switch reference {
                case .bytes(let bytes):
                    _ = try ImageInput.preprocess(bytes, spec: spec, limits: limits)  // Refuse what cannot be trained on.
                    let id = Predictor.imageID(of: bytes)
                    images[id] = bytes
                    return id
                case .id(let raw):
                    let id = raw.lowercased()
                    guard id.count == 64, id.allSatisfy(\.isHexDigit) else {
                        throw ServingError.invalidArgument("\(EchoedValue.quoted(raw)) is not an image id: expected the 64 hex digits Predict returned")
                    }
                    if let bytes = recent.bytes(for: id) { images[id] = bytes } else { unresolved.append(id) }
                    // Kept with the feedback, so a head retrain needs no forward pass even after a restart.
                    if let vector = recent.embedding(for: id, model: model, backbone: backbone) { embeddings[id] = vector }
                    return id
                }
            }
            var samples: [FeedbackSample] = []
            for reference in submission.kept {
                samples.append(FeedbackSample(imageID: try resolve(reference), kind: .positive, label: submission.label))
            }
            for reference in submission.deselected {
                samples.append(FeedbackSample(imageID: try resolve(reference), kind: .negative, label: submission.label))
            }
            for correction in submission.corrections {
                samples.append(FeedbackSample(imageID: try resolve(correction.image), kind: .correction, label: correction.label))
            }
            let missing = Set(unresolved).subtracting(try store.storedImages(among: Array(Set(unresolved))))
            guard missing.isEmpty else { throw ServingError.unknownImages(missing.sorted()) }
            return try store.record(FeedbackEvent(model: model, idempotencyKey: key, userID: submission.userID,
                                                  label: submission.label, samples: samples, images: images,
                                                  embeddings: embeddings, embeddingVersion: backbone))
        }
    }

    /// The pending feedback of `model` (empty: the default model).
    public func queue(model: String) async throws -> (model: String, summary: QueueSummary) {
        let snapshot = try await host.snapshot(model: model, version: .serving)
        let store = store
        let name = snapshot.name
        return (name, try await worker.run { try store.queue(model: name) })
    }
}
