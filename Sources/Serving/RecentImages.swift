import Foundation
import Synchronization

/// The bytes of recently predicted images, by image id, so feedback can refer to an image by the
/// id Predict returned without sending it again — and the embedding Predict computed for it, so a
/// head-only retrain on that feedback needs no forward pass, and what Predict said about it, so
/// reviewers can list the recent predictions (`ReviewCatalog`). Bounded by total bytes (oldest
/// forgotten first); an image becomes durable only when feedback names it and the store keeps it.
public final class RecentImages: Sendable {
    public let capacityBytes: Int
    private let state = Mutex(State())

    /// An embedding with the model and backbone it came from.
    public struct Embedding: Sendable {
        public var model: String
        public var backbone: Int
        public var vector: [Float]

        public init(model: String, backbone: Int, vector: [Float]) {
            self.model = model
            self.backbone = backbone
            self.vector = vector
        }
    }

    /// What the last Predict of an image said.
    public struct Seen: Sendable {
        public var model: String
        public var version: Int
        /// The top labels, highest score first.
        public var labels: [RankedLabel]
        public var margin: Float
        public var isBoundary: Bool
        public var at: Date
        /// Increases with every prediction remembered: the newest-first order.
        public var sequence: UInt64

        public init(model: String, version: Int, labels: [RankedLabel], margin: Float, isBoundary: Bool, at: Date = Date(),
                    sequence: UInt64 = 0) {
            self.model = model
            self.version = version
            self.labels = labels
            self.margin = margin
            self.isBoundary = isBoundary
            self.at = at
            self.sequence = sequence
        }
    }

    /// One remembered prediction of `model`, with its embedding when one was computed.
    public struct Candidate: Sendable {
        public var imageID: String
        public var seen: Seen
        public var embedding: Embedding?

        public init(imageID: String, seen: Seen, embedding: Embedding?) {
            self.imageID = imageID
            self.seen = seen
            self.embedding = embedding
        }
    }

    private struct State {
        var images: [String: Data] = [:]
        var embeddings: [String: Embedding] = [:]
        var seen: [String: Seen] = [:]
        var sequence: UInt64 = 0
        var order: [String] = []
        var head = 0
        var bytes = 0
    }

    public init(capacityBytes: Int = 256 << 20) {
        self.capacityBytes = capacityBytes
    }

    public func remember(_ bytes: Data, id: String, embedding: Embedding? = nil, seen: Seen? = nil) {
        guard bytes.count <= capacityBytes else { return }
        state.withLock { state in
            if let embedding { state.embeddings[id] = embedding }
            if var seen {
                state.sequence += 1
                seen.sequence = state.sequence
                state.seen[id] = seen
            }
            guard state.images[id] == nil else { return }
            state.images[id] = bytes
            state.order.append(id)
            state.bytes += bytes.count
            while state.bytes > capacityBytes, state.head < state.order.count {
                let oldest = state.order[state.head]
                state.head += 1
                if let removed = state.images.removeValue(forKey: oldest) { state.bytes -= removed.count }
                state.embeddings.removeValue(forKey: oldest)
                state.seen.removeValue(forKey: oldest)
            }
            if state.head > 1024, state.head * 2 > state.order.count {
                state.order.removeFirst(state.head)
                state.head = 0
            }
        }
    }

    public func bytes(for id: String) -> Data? {
        state.withLock { $0.images[id] }
    }

    /// The embedding Predict computed for `id`, if it came from `model`'s `backbone`.
    public func embedding(for id: String, model: String, backbone: Int) -> [Float]? {
        state.withLock { state in
            guard let cached = state.embeddings[id], cached.model == model, cached.backbone == backbone else { return nil }
            return cached.vector
        }
    }

    public var count: Int { state.withLock { $0.images.count } }

    /// Every remembered prediction of `model` (in no particular order).
    public func candidates(model: String) -> [Candidate] {
        state.withLock { state in
            state.seen.compactMap { id, seen in
                seen.model == model ? Candidate(imageID: id, seen: seen, embedding: state.embeddings[id]) : nil
            }
        }
    }
}
