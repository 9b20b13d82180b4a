import Foundation

/// One image in the search index: the embedding its prediction computed (under `backbone`) and
/// what the prediction said, for filters.
public struct SearchEntryRecord: Sendable, Equatable {
    public var model: String
    public var imageID: String
    public var backbone: Int
    /// The version that predicted it.
    public var version: Int
    /// The top label.
    public var label: String
    public var margin: Float
    public var isBoundary: Bool
    public var seenAt: Date
    /// The raw embedding (the index normalises it and keeps the norm).
    public var vector: [Float]

    public init(model: String, imageID: String, backbone: Int, version: Int, label: String, margin: Float, isBoundary: Bool,
                seenAt: Date, vector: [Float]) {
        self.model = model
        self.imageID = imageID
        self.backbone = backbone
        self.version = version
        self.label = label
        self.margin = margin
        self.isBoundary = isBoundary
        self.seenAt = seenAt
        self.vector = vector
    }
}

/// A word the search learned from marks: its query vector under `backbone` (empty until a mark
/// or an example gave it one), the example image it started from (if any), and how many rounds
/// of marks made it. The vector is a function of the example and the marks, so a new backbone
/// recomputes it.
public struct LearnedQueryRecord: Sendable, Equatable {
    public var model: String
    public var word: String
    public var backbone: Int
    public var vector: [Float]
    public var exampleImageID: String
    public var rounds: Int
    public var relevant: Int
    public var notRelevant: Int
    public var updatedAt: Date

    public init(model: String, word: String, backbone: Int, vector: [Float], exampleImageID: String = "", rounds: Int = 0,
                relevant: Int = 0, notRelevant: Int = 0, updatedAt: Date = Date()) {
        self.model = model
        self.word = word
        self.backbone = backbone
        self.vector = vector
        self.exampleImageID = exampleImageID
        self.rounds = rounds
        self.relevant = relevant
        self.notRelevant = notRelevant
        self.updatedAt = updatedAt
    }
}

/// A reviewer's verdict on one result of a query.
public struct SearchMark: Sendable, Hashable {
    public var imageID: String
    public var relevant: Bool
    public init(imageID: String, relevant: Bool) {
        self.imageID = imageID
        self.relevant = relevant
    }
}

/// What `recordMarks` did: the query afterwards, and whether the key had been used for the same
/// marks before (nothing changed then).
public struct MarkOutcome: Sendable, Equatable {
    public var query: LearnedQueryRecord?
    public var replayed: Bool
    public init(query: LearnedQueryRecord?, replayed: Bool) {
        self.query = query
        self.replayed = replayed
    }
}

/// Where the search index and learned queries live. Entries are written in batches behind
/// Predict (an index may lose the last moments of predictions in a crash, never feedback); marks
/// and query updates are one transaction, on disk before the reply.
public protocol SearchStore: Sendable {
    /// Inserts or replaces entries by (model, image id).
    func saveSearchEntries(_ entries: [SearchEntryRecord]) throws
    func searchEntries(model: String) throws -> [SearchEntryRecord]
    /// Entries seen at or after `since`, oldest first: what other processes sharing the store
    /// added lately.
    func searchEntries(model: String, seenSince since: Date) throws -> [SearchEntryRecord]
    /// Models with stored entries or learned queries.
    func searchModels() throws -> Set<String>
    func deleteSearchEntries(model: String, imageIDs: [String]) throws
    /// Deletes entries seen before `cutoff`, then the oldest until at most `maxEntries` remain.
    /// Returns the image ids deleted.
    func trimSearchEntries(model: String, maxEntries: Int, seenBefore cutoff: Date) throws -> [String]
    /// The backbone the stored entries of `model` were last rebuilt for (nil: never rebuilt).
    /// The process that re-embeds after a backbone change sets it when done; processes sharing the
    /// store wait for it and load the entries instead of embedding every image again.
    func searchIndexBackbone(model: String) throws -> Int?
    func setSearchIndexBackbone(model: String, backbone: Int) throws
    func learnedQueries(model: String) throws -> [LearnedQueryRecord]
    func learnedQuery(model: String, word: String) throws -> LearnedQueryRecord?
    func saveLearnedQuery(_ query: LearnedQueryRecord) throws
    /// Deletes the query and its marks. Returns whether it existed.
    func deleteLearnedQuery(model: String, word: String) throws -> Bool
    /// Every mark on `word`, the latest per image.
    func searchMarks(model: String, word: String) throws -> [SearchMark]
    /// Stores a round of marks under an idempotency key, in one transaction with the query update
    /// `update` computes from the query before it and every mark on the word (this round's
    /// included). A key seen before with the same `contentHash` is a replay (nothing changes);
    /// with another, `.keyReused`.
    func recordMarks(model: String, word: String, idempotencyKey: String, contentHash: String, marks: [SearchMark],
                     update: (LearnedQueryRecord?, [SearchMark]) throws -> LearnedQueryRecord?) throws -> MarkOutcome
}
