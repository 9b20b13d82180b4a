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

/// Where a sample is in the loop. Every stored sample is in exactly one state.
public enum SampleState: String, Sendable, CaseIterable, Codable {
    /// Waiting for a retrain to train on it.
    case pending
    /// Taken by the retrain running now.
    case training
    /// In the model's evaluation set (a fixed share of images, by id): never trained on, used by
    /// every later gate.
    case heldOut = "held-out"
    /// Trained on by a promoted version (`version`).
    case consumed
    /// Kept out of training: refused by a gate, screened as likely wrong, or its user quarantined
    /// (`reason`). Only an admin's release brings it back.
    case quarantined
    /// Cannot be trained on (`reason`: image gone, label no longer the model's, undecodable).
    case unusable
    /// Thrown away by an admin; kept for audit.
    case discarded

    /// States whose image bytes must be kept.
    public static let needsImage: Set<SampleState> = [.pending, .training, .heldOut, .quarantined]
    /// States a duplicate is checked against.
    public static let open: Set<SampleState> = [.pending, .training, .heldOut]
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

/// The share of images kept out of training for evaluation, decided by image id so one image is
/// never trained on by one retrain and judged by the next. `record` applies it with a cap per
/// label, and keeps an image on the side its earlier samples took (`RecordPolicy`).
public enum EvaluationSplit {
    public static let share = 5  // 1 image in 5.

    public static func isHeldOut(_ imageID: String) -> Bool {
        if let byte = UInt8(imageID.prefix(2), radix: 16) { return byte % UInt8(share) == 0 }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a, for ids that are not hex digests.
        for byte in imageID.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash % UInt64(share) == 0
    }
}

/// One lasso selection, validated and ready to store.
public struct FeedbackEvent: Sendable {
    public var model: String
    public var idempotencyKey: String
    /// A digest of what was said (label, user, samples): a reused key with another digest is refused.
    public var contentHash: String
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

    public init(model: String, idempotencyKey: String, contentHash: String = "", userID: String, label: String,
                samples: [FeedbackSample], images: [String: Data], embeddings: [String: [Float]] = [:],
                embeddingVersion: Int = 0) {
        self.model = model
        self.idempotencyKey = idempotencyKey
        self.contentHash = contentHash
        self.userID = userID
        self.label = label
        self.samples = samples
        self.images = images
        self.embeddings = embeddings
        self.embeddingVersion = embeddingVersion
    }
}

/// The acknowledgement of a stored (or replayed) event.
public struct FeedbackReceipt: Sendable, Equatable {
    public var eventID: Int64
    public var accepted: Int
    public var duplicates: Int
    public var replayed: Bool
    /// Trainable pending samples of the event's model after it was stored.
    public var queueDepth: Int
    public init(eventID: Int64, accepted: Int, duplicates: Int, replayed: Bool, queueDepth: Int) {
        self.eventID = eventID
        self.accepted = accepted
        self.duplicates = duplicates
        self.replayed = replayed
        self.queueDepth = queueDepth
    }
}

/// A model's samples by state, pending ones by label, and the store's size.
public struct QueueSummary: Sendable, Equatable {
    public struct Counts: Sendable, Equatable {
        public var positive = 0
        public var negative = 0
        public var corrected = 0
        public init() {}
    }

    /// Samples per state (every state present, zero when none).
    public var byState: [SampleState: Int] = Dictionary(uniqueKeysWithValues: SampleState.allCases.map { ($0, 0) })
    /// Unusable samples by reason.
    public var unusableReasons: [String: Int] = [:]
    public var total = 0
    public var events = 0
    /// Pending samples by label and kind.
    public var byLabel: [String: Counts] = [:]
    /// Images with bytes, their bytes, and the disk the database and its WAL take (all models).
    public var storedImages = 0
    public var imageBytes = 0
    public var databaseBytes = 0
    public init() {}

    /// Samples a retrain can train on now.
    public var pending: Int { byState[.pending] ?? 0 }
}

/// A stored sample, as a retrain reads it.
public struct StoredSample: Sendable, Equatable {
    public var id: Int64
    public var eventID: Int64
    public var userID: String
    public var sample: FeedbackSample
    public var state: SampleState
    /// An admin released it from quarantine: screening does not flag it again.
    public var released: Bool
    /// Its event's training share was accepted by a gate (a promoted version consumed some of it):
    /// its held-out samples may judge later candidates' accuracy. Feedback not yet vetted must not
    /// judge the retrain that trains on its own event.
    public var vetted: Bool

    public init(id: Int64, eventID: Int64, userID: String, sample: FeedbackSample, state: SampleState, released: Bool = false,
                vetted: Bool = false) {
        self.id = id
        self.eventID = eventID
        self.userID = userID
        self.sample = sample
        self.state = state
        self.released = released
        self.vetted = vetted
    }
}

/// An event with quarantined samples, for an admin to release or discard.
public struct QuarantinedEvent: Sendable, Equatable {
    public var eventID: Int64
    public var userID: String
    public var label: String
    public var createdAt: String
    public var quarantinedSamples: Int
    /// Why: the gate's verdict, the screen's finding, or the user's quarantine.
    public var verdict: String
    public init(eventID: Int64, userID: String, label: String, createdAt: String, quarantinedSamples: Int, verdict: String) {
        self.eventID = eventID
        self.userID = userID
        self.label = label
        self.createdAt = createdAt
        self.quarantinedSamples = quarantinedSamples
        self.verdict = verdict
    }
}

/// The store's value types under names that do not collide with the `FeedbackStore` protocol, so a
/// module above can re-export them as typealiases (`FeedbackStore.X` names the protocol's member).
public enum FeedbackStoreTypes {
    public typealias Receipt = FeedbackReceipt
    public typealias Queue = QueueSummary
    public typealias State = SampleState
    public typealias Quarantined = QuarantinedEvent
    public typealias Selector = FeedbackSelector
    public typealias Quota = UserQuota
    public typealias Retention = RetentionLimits
    public typealias Retained = RetentionReport
    public typealias Split = EvaluationSplit
}
