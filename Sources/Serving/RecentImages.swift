import Foundation
import Synchronization

/// The bytes of recently predicted images, by image id, so feedback can refer to an image by the
/// id Predict returned without sending it again — and the embedding Predict computed for it, so a
/// head-only retrain on that feedback needs no forward pass. Bounded by total bytes (oldest forgotten first);
/// an image becomes durable only when feedback names it and the store keeps it.
public final class RecentImages: Sendable {
    public let capacityBytes: Int
    private let state = Mutex(State())

    /// An embedding with the model and backbone it came from.
    public struct Embedding: Sendable {
        public var model: String
        public var backbone: Int
        public var vector: [Float]
    }

    private struct State {
        var images: [String: Data] = [:]
        var embeddings: [String: Embedding] = [:]
        var order: [String] = []
        var head = 0
        var bytes = 0
    }

    public init(capacityBytes: Int = 256 << 20) {
        self.capacityBytes = capacityBytes
    }

    public func remember(_ bytes: Data, id: String, embedding: Embedding? = nil) {
        guard bytes.count <= capacityBytes else { return }
        state.withLock { state in
            if let embedding { state.embeddings[id] = embedding }
            guard state.images[id] == nil else { return }
            state.images[id] = bytes
            state.order.append(id)
            state.bytes += bytes.count
            while state.bytes > capacityBytes, state.head < state.order.count {
                let oldest = state.order[state.head]
                state.head += 1
                if let removed = state.images.removeValue(forKey: oldest) { state.bytes -= removed.count }
                state.embeddings.removeValue(forKey: oldest)
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
}
