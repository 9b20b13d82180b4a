import FeedbackStore
import Foundation

/// How the search learns and how much it keeps.
public struct SearchConfiguration: Sendable {
    /// The learned-query update: q' = α·q + β·mean(relevant) − γ·mean(not relevant).
    public var rocchio: Rocchio
    /// Images kept per model at most (oldest dropped first); an entry costs about 4·E + 200 bytes
    /// of memory (E: embedding size).
    public var maxEntriesPerModel: Int
    /// Entries older than this are dropped (the store's retention age).
    public var maxAge: TimeInterval
    /// How often retention runs.
    public var upkeepInterval: Duration
    /// Cores one search may use.
    public var threads: Int
    /// Cores a rebuild after a backbone change may use for its forward passes; serving keeps the rest.
    public var rebuildThreads: Int
    /// On a store other processes share: how often to index the entries they added (nil: the
    /// store is this process's alone, and everything in it came through this index).
    public var followStoreEvery: Duration?
    /// Whether this process embeds the stored images again after a backbone change. False on a
    /// serving replica of a shared store: the trainer re-embeds once, and the replica waits for
    /// the store to say so and loads the new entries.
    public var reembeds = true

    public init(rocchio: Rocchio = Rocchio(), maxEntriesPerModel: Int = 1_000_000, maxAge: TimeInterval = 180 * 86_400,
                upkeepInterval: Duration = .seconds(600), threads: Int = 2, rebuildThreads: Int = 1) {
        self.rocchio = rocchio
        self.maxEntriesPerModel = maxEntriesPerModel
        self.maxAge = maxAge
        self.upkeepInterval = upkeepInterval
        self.threads = threads
        self.rebuildThreads = rebuildThreads
    }
}

/// What a result must match. Empty fields match everything.
public struct SearchFilter: Sendable, Equatable {
    /// The top label of the prediction that indexed the image.
    public var predictedLabel: String
    public var boundaryOnly: Bool
    /// The version that predicted it.
    public var version: Int?
    public var seenAfter: Date?
    public var seenBefore: Date?

    public init(predictedLabel: String = "", boundaryOnly: Bool = false, version: Int? = nil, seenAfter: Date? = nil,
                seenBefore: Date? = nil) {
        self.predictedLabel = predictedLabel
        self.boundaryOnly = boundaryOnly
        self.version = version
        self.seenAfter = seenAfter
        self.seenBefore = seenBefore
    }

    var isEmpty: Bool { self == SearchFilter() }

    func accepts(_ entry: IndexedImage) -> Bool {
        (predictedLabel.isEmpty || entry.label == predictedLabel) && (!boundaryOnly || entry.isBoundary)
            && (version.map { entry.version == $0 } ?? true)
            && (seenAfter.map { entry.seenAt >= $0 } ?? true) && (seenBefore.map { entry.seenAt < $0 } ?? true)
    }
}

/// What the index knows of an image besides its vector.
public struct IndexedImage: Sendable, Equatable {
    public var version: Int
    public var label: String
    public var margin: Float
    public var isBoundary: Bool
    public var seenAt: Date
    /// The embedding's length before normalising: the head needs the raw vector (unit · norm).
    var norm: Float
}

/// One result: an image, its score (cosine similarity, or the class probability for a label
/// search) and what its prediction said.
public struct ImageMatch: Sendable, Equatable {
    public var imageID: String
    public var score: Float
    public var image: IndexedImage
}

public struct SimilarResults: Sendable {
    public var model: String
    public var matches: [ImageMatch]
    /// The id of the query image (computed from uploaded bytes, or the id sent).
    public var queryImageID: String
}

public struct WordResults: Sendable {
    public enum Kind: Sendable, Equatable {
        /// The word is one of the model's labels: results rank by the classifier's probability.
        case classLabel
        /// Any other word: results rank by its learned query vector.
        case learned
    }

    public var model: String
    public var word: String
    public var kind: Kind
    public var matches: [ImageMatch]
    public var nextPageToken: String
    /// Rounds of marks the learned query took (0 for a class label).
    public var rounds: Int
    /// Why there are no results, when there are none and the word has no query yet.
    public var hint: String
}

/// A reviewer's verdict on one result of a word.
public struct ResultMark: Sendable, Hashable {
    public var imageID: String
    public var relevant: Bool
    public init(imageID: String, relevant: Bool) {
        self.imageID = imageID
        self.relevant = relevant
    }
}

public struct MarkResult: Sendable {
    public var model: String
    public var word: String
    public var kind: WordResults.Kind
    public var rounds: Int
    public var replayed: Bool
    /// Samples the marks added to the training queue (class-label words only).
    public var queuedSamples: Int
}

public enum SearchError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Images named by id that the index of `model` does not hold.
    case notIndexed([String], model: String)
    case unknownQuery(String, model: String)
    /// The index is being rebuilt for a new backbone and cannot score with the new head yet.
    case rebuilding(model: String, backbone: Int)
    /// The stored index is still being read at start-up.
    case loading
    case keyReused(String)

    public var description: String {
        switch self {
        case .notIndexed(let ids, let model):
            "images not in the search index of '\(model)': \(ids.prefix(10).joined(separator: ", "))"
                + (ids.count > 10 ? " and \(ids.count - 10) more" : "") + "; Predict them first, or send the image bytes"
        case .unknownQuery(let word, let model):
            "'\(word.prefix(100))' is not a learned query of '\(model)'; list them with ListQueries"
        case .loading:
            "the search index is still loading from the store after a start; retry in a moment"
        case .rebuilding(let model, let backbone):
            "the search index of '\(model)' is being rebuilt for backbone version \(backbone); retry in a few seconds"
        case .keyReused(let key):
            "idempotency_key '\(key.prefix(64))' was already used for different marks; use a new key for new marks, "
                + "or resend the first marks unchanged"
        }
    }
}
