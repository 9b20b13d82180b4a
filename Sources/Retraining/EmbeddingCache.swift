import FeedbackStore
import Foundation
import Logging
import Serving
import Synchronization
import Training

/// Embeddings of training and evaluation samples under a serving backbone, so a head retrain
/// needs a forward pass only for images nobody embedded before. Looked up in order: memory,
/// Predict's recent images, the feedback store (which keeps what feedback arrived with and what
/// earlier retrains computed, base data included, so a restart needs no warm-up); the rest is
/// computed in one batched pass and written back to both.
final class EmbeddingCache: Sendable {
    private let store: any FeedbackStore
    private let recent: RecentImages?
    private let logger: Logger
    /// By model, then "backbone#storageKey"; only each model's latest backbone is kept in memory.
    private let memory = Mutex<[String: (backbone: Int, vectors: [String: [Float]])]>([:])

    init(store: any FeedbackStore, recent: RecentImages?, logger: Logger) {
        self.store = store
        self.recent = recent
        self.logger = logger
    }

    /// Embeddings [N, E] for `items` under `parent`'s backbone.
    func embeddings(_ items: [TrainingSetBuilder.Item], parent: ModelSnapshot, threads: Int) throws -> [Float] {
        let size = parent.embeddingSize, backbone = parent.backboneVersion
        var result = [Float](repeating: 0, count: items.count * size)
        let keys = items.map(\.key.storageKey)
        let known = memory.withLock { all -> [String: [Float]] in
            guard let entry = all[parent.name], entry.backbone == backbone else { return [:] }
            return entry.vectors
        }
        var missing: [Int] = []
        for (index, key) in keys.enumerated() {
            let found = known[key] ?? items[index].key.imageID.flatMap { recent?.embedding(for: $0, model: parent.name, backbone: backbone) }
            if let found, found.count == size {
                result.replaceSubrange(index * size..<(index + 1) * size, with: found)
            } else {
                missing.append(index)
            }
        }
        var learned: [String: [Float]] = [:]
        if !missing.isEmpty {
            let stored = try store.embeddings(model: parent.name, version: backbone, keys: missing.map { keys[$0] })
            missing = missing.filter { index in
                guard let vector = stored[keys[index]], vector.count == size else { return true }
                result.replaceSubrange(index * size..<(index + 1) * size, with: vector)
                learned[keys[index]] = vector
                return false
            }
        }
        if !missing.isEmpty {
            let computed = FineTuner.embed(parent.model, missing.map { items[$0].input }, threads: threads)
            var toStore: [String: [Float]] = [:]
            for (row, index) in missing.enumerated() {
                let vector = Array(computed[row * size..<(row + 1) * size])
                result.replaceSubrange(index * size..<(index + 1) * size, with: vector)
                toStore[keys[index]] = vector
            }
            try store.storeEmbeddings(toStore, model: parent.name, version: backbone)
            learned.merge(toStore) { $1 }
        }
        if !learned.isEmpty {
            memory.withLock { all in
                var entry = all[parent.name].flatMap { $0.backbone == backbone ? $0 : nil } ?? (backbone: backbone, vectors: [:])
                entry.vectors.merge(learned) { $1 }
                all[parent.name] = entry
            }
        }
        return result
    }
}
