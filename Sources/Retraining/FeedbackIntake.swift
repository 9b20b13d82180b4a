import Crypto
import FeedbackStore
import Foundation
import Imaging
import Serving
import Synchronization

/// An image a reviewer points at: an id Predict returned, or the bytes.
public enum ImageReference: Sendable, Equatable {
    case id(String)
    case bytes(Data)

    /// `raw` as the lower-case 64 hex digits Predict returns, or INVALID_ARGUMENT naming it.
    public static func normalizedID(_ raw: String) throws -> String {
        try Predictor.normalizedImageID(raw)
    }
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
    /// Multi-head models: the head `label` and the corrections belong to (or qualified labels).
    public var head: String

    public init(model: String = "", label: String, kept: [ImageReference] = [], deselected: [ImageReference] = [],
                corrections: [(image: ImageReference, label: String)] = [], userID: String = "",
                idempotencyKey: String, head: String = "") {
        self.model = model
        self.head = head
        self.label = label
        self.kept = kept
        self.deselected = deselected
        self.corrections = corrections
        self.userID = userID
        self.idempotencyKey = idempotencyKey
    }
}

/// Limits on what one client may send.
public struct IntakePolicy: Sendable, Equatable {
    /// Image references (kept + deselected + corrections) in one submission.
    public var maxReferences: Int
    /// Samples one user may add per window; nil: unlimited.
    public var quota: UserQuota?
    /// Held-out (evaluation) samples per label at most; later images of a full label train.
    public var maxHeldOutPerLabel: Int?

    public static let defaultMaxHeldOutPerLabel = RecordPolicy.defaultMaxHeldOutPerLabel

    public init(maxReferences: Int = 1000, quota: UserQuota? = UserQuota(samples: 5000, window: 3600),
                maxHeldOutPerLabel: Int? = IntakePolicy.defaultMaxHeldOutPerLabel) {
        self.maxReferences = maxReferences
        self.quota = quota
        self.maxHeldOutPerLabel = maxHeldOutPerLabel
    }

    var record: RecordPolicy { RecordPolicy(quota: quota, maxHeldOutPerLabel: maxHeldOutPerLabel) }
}

/// Validates feedback against the served model and stores it durably, all or nothing: every label
/// must be one of the model's, every image id known and the selection free of contradictions
/// before anything is written; the write is an fsynced transaction (shared with concurrent
/// submissions: group commit) that completes before the caller is answered.
public final class FeedbackIntake: Sendable {
    public let store: any FeedbackStore
    public let policy: IntakePolicy
    private let host: ModelHost
    private let recent: RecentImages
    private let limits: ImagingLimits
    /// Decoding checks are CPU work: they stay off the cooperative pool.
    private let worker: WorkerPool
    private let commits: GroupCommit
    /// Told of images a selection sent as bytes once they are stored (the search index embeds them).
    private let storedImagesObserver = Mutex<(@Sendable (_ model: String, _ images: [String: Data]) -> Void)?>(nil)

    public init(host: ModelHost, store: any FeedbackStore, recent: RecentImages, limits: ImagingLimits = .default,
                policy: IntakePolicy = IntakePolicy()) {
        self.host = host
        self.store = store
        self.recent = recent
        self.limits = limits
        self.policy = policy
        worker = WorkerPool(name: "boundary-feedback", workers: 2)
        commits = GroupCommit(store: store, policy: policy.record)
    }

    public func shutdown() {
        worker.shutdown()
        commits.shutdown()
    }

    public func submit(_ submission: FeedbackSubmission) async throws -> FeedbackReceipt {
        let key = submission.idempotencyKey
        guard !key.isEmpty, key.count <= 256 else {
            throw ServingError.invalidArgument("idempotency_key is required (1-256 characters, unique per selection) "
                                               + "so a retried submission is not counted twice")
        }
        guard submission.userID.count <= 256 else { throw ServingError.invalidArgument("user_id is longer than 256 characters") }
        let snapshot = try await host.snapshot(model: submission.model, version: .serving)
        // A multi-head model's labels are stored qualified ("head:label").
        let submission = try HeadQualification.qualified(submission, spec: snapshot.spec, model: snapshot.name)
        let count = submission.kept.count + submission.deselected.count + submission.corrections.count
        guard count > 0 else {
            throw ServingError.invalidArgument("the selection is empty: send kept, deselected or corrected images")
        }
        guard count <= policy.maxReferences else {
            throw ServingError.invalidArgument("\(count) image references in one selection; the limit is \(policy.maxReferences): "
                                               + "split it into several submissions")
        }
        let recent = recent, store = store, limits = limits, spec = snapshot.preprocess
        let model = snapshot.name
        let backbone = snapshot.backboneVersion
        let event = try await worker.run { () throws -> FeedbackEvent in
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
                    let id = try ImageReference.normalizedID(raw)
                    if let bytes = recent.bytes(for: id) { images[id] = bytes } else { unresolved.append(id) }
                    // Kept with the feedback, so a head retrain needs no forward pass even after a restart.
                    if let vector = recent.embedding(for: id, model: model, backbone: backbone) { embeddings[id] = vector }
                    return id
                }
            }
            let selection = ResolvedSelection(
                label: submission.label, kept: try submission.kept.map(resolve), deselected: try submission.deselected.map(resolve),
                corrections: try submission.corrections.map { (try resolve($0.image), $0.label) })
            try selection.validate()
            let missing = Set(unresolved).subtracting(try store.storedImages(among: Array(Set(unresolved))))
            guard missing.isEmpty else { throw ServingError.unknownImages(missing.sorted()) }
            return FeedbackEvent(model: model, idempotencyKey: key, contentHash: selection.digest(userID: submission.userID),
                                 userID: submission.userID, label: submission.label, samples: selection.samples,
                                 images: images, embeddings: embeddings, embeddingVersion: backbone)
        }
        let receipt = try await commits.record(event)
        // Images sent as bytes were never predicted: nothing else would put them in the search index.
        let sent = event.images.filter { id, _ in !event.embeddings.keys.contains(id) && recent.bytes(for: id) == nil }
        if !receipt.replayed, !sent.isEmpty, let observer = storedImagesObserver.withLock({ $0 }) { observer(model, sent) }
        return receipt
    }

    /// Calls `observer` with the images a selection sent as bytes, after each new selection is stored.
    public func observeStoredImages(_ observer: @escaping @Sendable (_ model: String, _ images: [String: Data]) -> Void) {
        storedImagesObserver.withLock { $0 = observer }
    }

    /// The feedback of `model` (empty: the default model) by state.
    public func queue(model: String) async throws -> (model: String, summary: QueueSummary) {
        try await withStore(model: model) { store, name in try store.queue(model: name) }
    }

    /// Runs a store call for the named (or default) model off the cooperative pool.
    func withStore<T: Sendable>(model: String, _ body: @escaping @Sendable (any FeedbackStore, String) throws -> T)
        async throws -> (String, T) {
        let name = try await host.snapshot(model: model, version: .serving).name
        let store = store
        return (name, try await worker.run { try body(store, name) })
    }
}

/// A selection with every image resolved to its id, checked for contradictions.
struct ResolvedSelection {
    var label: String
    var kept: [String]
    var deselected: [String]
    var corrections: [(image: String, label: String)]

    /// One selection must not say two things about one image.
    func validate() throws {
        let keptSet = Set(kept), deselectedSet = Set(deselected)
        if let both = keptSet.intersection(deselectedSet).sorted().first {
            throw ServingError.invalidArgument("image \(both) is both kept and deselected in this selection; send one or the other")
        }
        var corrected: [String: String] = [:]
        for (image, truth) in corrections {
            if truth == label {
                throw ServingError.invalidArgument("image \(image) is corrected to '\(truth)', the selection's own label: "
                                                   + "send it as kept instead")
            }
            if keptSet.contains(image) {
                throw ServingError.invalidArgument("image \(image) is kept as '\(label)' and corrected to '\(truth)' in the same "
                                                   + "selection; deselect it if it is not '\(label)'")
            }
            if let earlier = corrected[image], earlier != truth {
                throw ServingError.invalidArgument("image \(image) is corrected to both '\(earlier)' and '\(truth)'; send one label")
            }
            corrected[image] = truth
        }
    }

    var samples: [FeedbackSample] {
        kept.map { FeedbackSample(imageID: $0, kind: .positive, label: label) }
            + deselected.map { FeedbackSample(imageID: $0, kind: .negative, label: label) }
            + corrections.map { FeedbackSample(imageID: $0.image, kind: .correction, label: $0.label) }
    }

    /// SHA-256 of what the selection says (order-insensitive): a reused idempotency key is a
    /// replay only when this matches.
    func digest(userID: String) -> String {
        var lines = ["label:\(label)", "user:\(userID)"]
        lines += Set(samples).map { "\($0.kind.rawValue):\($0.imageID):\($0.label)" }.sorted()
        return Predictor.hex(SHA256.hash(data: Data(lines.joined(separator: "\n").utf8)))
    }
}
