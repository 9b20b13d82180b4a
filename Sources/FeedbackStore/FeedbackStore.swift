import Foundation

/// What a reviewer said about one image.
public enum SampleKind: String, Sendable, CaseIterable, Codable {
    /// Kept in a lasso selection for `label`: a positive example.
    case positive
    /// Deselected from a selection for `label`: "not `label`", a decision-boundary sample.
    case negative
    /// The reviewer named the true `label`.
    case correction
}

public struct FeedbackSample: Sendable, Hashable {
    public var imageID: String
    public var kind: SampleKind
    /// The selection's label for positive and negative samples, the true label for corrections.
    public var label: String

    public init(imageID: String, kind: SampleKind, label: String) {
        self.imageID = imageID
        self.kind = kind
        self.label = label
    }
}

/// One lasso selection, validated and ready to store.
public struct FeedbackEvent: Sendable {
    public var model: String
    public var idempotencyKey: String
    public var userID: String
    /// The label the selection was made for.
    public var label: String
    public var samples: [FeedbackSample]
    /// Bytes of referenced images the store may not have yet, by image id.
    public var images: [String: Data]
    /// Embeddings known for referenced images (from Predict), by image id, under `embeddingVersion`
    /// — the model version whose backbone computed them.
    public var embeddings: [String: [Float]]
    public var embeddingVersion: Int

    public init(model: String, idempotencyKey: String, userID: String, label: String,
                samples: [FeedbackSample], images: [String: Data], embeddings: [String: [Float]] = [:],
                embeddingVersion: Int = 0) {
        self.embeddings = embeddings
        self.embeddingVersion = embeddingVersion
        self.model = model
        self.idempotencyKey = idempotencyKey
        self.userID = userID
        self.label = label
        self.samples = samples
        self.images = images
    }
}

/// The acknowledgement of a stored (or replayed) event.
public struct FeedbackReceipt: Sendable, Equatable {
    public var eventID: Int64
    public var accepted: Int
    public var duplicates: Int
    public var replayed: Bool
    /// Pending samples of the event's model after it was stored.
    public var queueDepth: Int
}

/// Pending samples of one model.
public struct QueueSummary: Sendable, Equatable {
    public struct Counts: Sendable, Equatable {
        public var positive = 0
        public var negative = 0
        public var corrected = 0
        public init() {}
    }

    public var pending = 0
    public var total = 0
    public var events = 0
    public var byLabel: [String: Counts] = [:]
    public init() {}
}

/// A stored sample, as a retrain reads it.
public struct StoredSample: Sendable, Equatable {
    public var id: Int64
    public var eventID: Int64
    public var sample: FeedbackSample
}

/// Durable storage for the feedback loop. Every write is one transaction that is on disk when the
/// call returns, so an acknowledged submission survives a crash at any later moment. SQLite is
/// the embedded default (`SQLiteFeedbackStore`); the protocol is what a PostgreSQL store would
/// implement.
public protocol FeedbackStore: Sendable {
    /// Stores `event` unless its idempotency key was seen for its model, in which case the first
    /// receipt is returned with `replayed` set. Samples identical to a pending one are counted as
    /// duplicates and not stored again.
    func record(_ event: FeedbackEvent) throws -> FeedbackReceipt
    /// Which of `imageIDs` the store holds bytes for.
    func storedImages(among imageIDs: [String]) throws -> Set<String>
    func imageBytes(_ imageID: String) throws -> Data?
    func queue(model: String) throws -> QueueSummary
    /// Samples of `model` no retrain has consumed yet, oldest first.
    func pendingSamples(model: String) throws -> [StoredSample]
    /// Marks samples as consumed by the version trained on them (lineage).
    func markConsumed(_ sampleIDs: [Int64], byVersion version: Int) throws
    /// Cached embeddings of stored images under `model`'s `version` backbone, by image id.
    func embeddings(model: String, version: Int, imageIDs: [String]) throws -> [String: [Float]]
    /// Caches embeddings of stored images (ids the store has no bytes for are skipped).
    func storeEmbeddings(_ vectors: [String: [Float]], model: String, version: Int) throws
}
