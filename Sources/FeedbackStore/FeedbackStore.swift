import Foundation

/// Durable storage for the feedback loop. Every write is a transaction that is on disk when the
/// call returns, so an acknowledged submission survives a crash at any later moment. SQLite is
/// the embedded default (`SQLiteFeedbackStore`); the protocol is what a PostgreSQL store implements.
///
/// Every sample is in exactly one `SampleState`; the calls below are the only transitions.
public protocol FeedbackStore: Sendable {
    /// Stores a batch of events in one transaction (one fsync: group commit), each event all or
    /// nothing. An event whose idempotency key was seen for its model returns the first receipt
    /// (`replayed`), or `.keyReused` when its content differs. Samples identical to an open one
    /// (pending, training or held-out) are counted as duplicates and not stored again. With a
    /// quota, an event that would take its user past it fails with `.quotaExceeded`. Samples
    /// identical to quarantined or discarded ones are duplicates too. An image's samples are
    /// held out (the evaluation share) by its id, while its label has fewer held-out samples than
    /// the policy's cap, and always as the image's earlier samples were.
    func record(_ events: [FeedbackEvent], policy: RecordPolicy) throws -> [Result<FeedbackReceipt, FeedbackStoreError>]
    /// Which of `imageIDs` the store holds bytes for.
    func storedImages(among imageIDs: [String]) throws -> Set<String>
    /// The bytes of an image, nil when unknown or removed by retention.
    func imageBytes(_ imageID: String) throws -> Data?
    /// For each of `imageIDs` that has samples of `model` a retrain will still use (pending,
    /// training or held out), how many: what a reviewer's grid marks as already queued.
    func openSampleCounts(model: String, imageIDs: [String]) throws -> [String: Int]
    /// Sample counts per state, pending ones per label, and the store's size.
    func queue(model: String) throws -> QueueSummary
    /// Samples of `model` in `states`, oldest first, with who sent them.
    func samples(model: String, in states: Set<SampleState>) throws -> [StoredSample]
    /// Moves samples to `state` (training, consumed by `version`, unusable with `reason`, back to
    /// pending…), only those currently in `current` when given. Quarantine goes through
    /// `quarantine`, which works per event.
    func setState(_ sampleIDs: [Int64], to state: SampleState, version: Int?, reason: String?, ifIn current: SampleState?) throws
    /// Samples left in `training` by a process that died mid-retrain go back to pending (run at open).
    func resetInterruptedTraining() throws -> Int
    /// Quarantines every open sample (pending, training, held-out) of the selected events with the
    /// verdict. Returns the samples moved.
    @discardableResult
    func quarantine(model: String, _ selector: FeedbackSelector, verdict: String) throws -> Int
    /// Events with quarantined samples, newest first.
    func quarantinedEvents(model: String) throws -> [QuarantinedEvent]
    /// Quarantined samples of the selected events back to pending (or held-out); a released sample
    /// is not screened again.
    @discardableResult
    func release(model: String, _ selector: FeedbackSelector) throws -> Int
    /// Open or quarantined samples of the selected events to discarded (kept for audit, never trained).
    @discardableResult
    func discard(model: String, _ selector: FeedbackSelector) throws -> Int
    /// Cached embeddings under `model`'s `version` backbone, by sample key (`SampleKey.storageKey`).
    func embeddings(model: String, version: Int, keys: [String]) throws -> [String: [Float]]
    /// Caches embeddings: image keys only for images the store holds; base-data keys always.
    func storeEmbeddings(_ vectors: [String: [Float]], model: String, version: Int) throws
    /// Models the store keeps embeddings for.
    func modelsWithEmbeddings() throws -> Set<String>
    /// Deletes the embeddings of `model`'s backbones not in `keep`. Returns the rows deleted.
    @discardableResult
    func pruneEmbeddings(model: String, keepVersions keep: Set<Int>) throws -> Int
    /// Removes image bytes by age and total size, oldest first, never those an open or quarantined
    /// sample needs.
    func enforceRetention(_ limits: RetentionLimits, now: Date) throws -> RetentionReport
}

extension FeedbackStore {
    /// Stores one event (a batch of one).
    public func record(_ event: FeedbackEvent, policy: RecordPolicy = RecordPolicy()) throws -> FeedbackReceipt {
        guard let result = try record([event], policy: policy).first else { throw FeedbackStoreError.internalInconsistency }
        return try result.get()
    }

    public func setState(_ sampleIDs: [Int64], to state: SampleState, version: Int? = nil, reason: String? = nil) throws {
        try setState(sampleIDs, to: state, version: version, reason: reason, ifIn: nil)
    }

    /// Samples a retrain may train on.
    public func pendingSamples(model: String) throws -> [StoredSample] { try samples(model: model, in: [.pending]) }
}

/// A per-user intake limit: at most `samples` accepted per `window`.
public struct UserQuota: Sendable, Equatable {
    public var samples: Int
    public var window: TimeInterval
    public init(samples: Int, window: TimeInterval = 3600) {
        self.samples = samples
        self.window = window
    }
}

/// What `record` enforces beyond validity.
public struct RecordPolicy: Sendable, Equatable {
    /// Samples one user may add per window; nil: unlimited.
    public var quota: UserQuota?
    /// Held-out samples per (model, label) at most: once a label's evaluation share is this big,
    /// its new images are trained on instead, so the evaluation set (whose images retention never
    /// removes) stays bounded. nil: no cap.
    public var maxHeldOutPerLabel: Int?

    public static let defaultMaxHeldOutPerLabel = 500

    public init(quota: UserQuota? = nil, maxHeldOutPerLabel: Int? = RecordPolicy.defaultMaxHeldOutPerLabel) {
        self.quota = quota
        self.maxHeldOutPerLabel = maxHeldOutPerLabel
    }
}

/// Which feedback an admin call acts on.
public enum FeedbackSelector: Sendable, Equatable {
    case events([Int64])
    case user(String)
}

/// How much the store may keep. Images an open or quarantined sample needs are never removed.
public struct RetentionLimits: Sendable, Equatable {
    public var maxImageBytes: Int
    public var maxAge: TimeInterval
    /// 10 GiB of image bytes, 180 days.
    public static let `default` = RetentionLimits(maxImageBytes: 10 << 30, maxAge: 180 * 86_400)
    public init(maxImageBytes: Int, maxAge: TimeInterval) {
        self.maxImageBytes = maxImageBytes
        self.maxAge = maxAge
    }
}

public struct RetentionReport: Sendable, Equatable {
    public var imagesRemoved = 0
    public var bytesRemoved = 0
    /// Bytes kept because open or quarantined samples need them, even past the limits.
    public var bytesPinned = 0
    public init() {}
}

public enum FeedbackStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The idempotency key was used before for different content.
    case keyReused(key: String, eventID: Int64)
    /// The user would pass their intake quota.
    case quotaExceeded(user: String, used: Int, requested: Int, limit: Int, window: TimeInterval)
    case internalInconsistency
    /// Images named by id that retention removed before the commit.
    case imagesGone([String])

    public var description: String {
        switch self {
        case .keyReused(let key, let eventID):
            "idempotency_key '\(key.prefix(64))' was already used for a different selection (event \(eventID)); "
                + "use a new key for new content, or resend the first selection unchanged"
        case .quotaExceeded(let user, let used, let requested, let limit, let window):
            "user '\(user.prefix(64))' sent \(used) samples in the last \(Int(window / 60)) minutes; \(requested) more would pass "
                + "the quota of \(limit); retry later or split the selection"
        case .internalInconsistency:
            "the feedback store returned no result"
        case .imagesGone(let ids):
            "images no longer stored: \(ids.prefix(10).joined(separator: ", ")); send the image bytes instead"
        }
    }
}

/// An image Predict saw, with the embedding it computed (under `backbone`).
public struct PredictedImage: Sendable, Equatable {
    public var id: String
    public var bytes: Data
    public var model: String
    public var backbone: Int
    public var embedding: [Float]
    public init(id: String, bytes: Data, model: String, backbone: Int, embedding: [Float]) {
        self.id = id
        self.bytes = bytes
        self.model = model
        self.backbone = backbone
        self.embedding = embedding
    }
}

/// A store several processes share keeps the images they predict, so feedback sent through any
/// of them can name an image by the id another one returned. Written in batches behind Predict
/// (a crash may lose the last moments of them, never feedback); retention removes them by age
/// and size like any stored image no open sample needs.
public protocol SharedImageStore: Sendable {
    /// Stores the images (an image stored before keeps its row; one retention removed gets its
    /// bytes back) and their embeddings, in one transaction.
    func rememberPredicted(_ images: [PredictedImage]) throws
}
