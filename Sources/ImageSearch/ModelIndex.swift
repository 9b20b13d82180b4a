import FeedbackStore
import Foundation
import SimilaritySearch
import Synchronization
import Tensor

/// The search index of one model: unit embeddings under one backbone in an `ExactIndex`, and what
/// each image's prediction said (for filters). Changes and searches take one lock; a search holds
/// it for one scan (tens of milliseconds at a million images), changes for microseconds.
final class ModelIndex: Sendable {
    let model: String
    private let state: Mutex<Contents>

    struct Contents: Sendable {
        var backbone: Int
        var index: ExactIndex<ImageKey>
        var images: [ImageKey: IndexedImage] = [:]

        init(backbone: Int, dimension: Int) {
            self.backbone = backbone
            index = ExactIndex(dimension: dimension)
        }

        /// Adds or replaces `record`'s image; false when its vector does not fit (another backbone
        /// or size, or all zeros).
        @discardableResult
        mutating func upsert(_ record: SearchEntryRecord) -> Bool {
            guard record.backbone == backbone, record.vector.count == index.dimension, let key = ImageKey(hex: record.imageID) else {
                return false
            }
            let norm = (record.vector.reduce(Float(0)) { $0 + $1 * $1 }).squareRoot()
            guard norm > 0, norm.isFinite, (try? index.upsert(id: key, vector: record.vector)) != nil else { return false }
            images[key] = IndexedImage(version: record.version, label: record.label, margin: record.margin,
                                       isBoundary: record.isBoundary, seenAt: record.seenAt, norm: norm)
            return true
        }

        mutating func remove(_ key: ImageKey) {
            index.remove(id: key)
            images.removeValue(forKey: key)
        }
    }

    init(model: String, contents: Contents) {
        self.model = model
        state = Mutex(contents)
    }

    var backbone: Int { state.withLock { $0.backbone } }
    var dimension: Int { state.withLock { $0.index.dimension } }
    var count: Int { state.withLock { $0.index.count } }

    func withContents<T>(_ body: (inout Contents) throws -> T) rethrows -> T {
        try state.withLock { try body(&$0) }
    }

    /// The unit vector of `id`, if indexed.
    func vector(of id: String) -> [Float]? {
        guard let key = ImageKey(hex: id) else { return nil }
        return state.withLock { $0.index.vector(of: key) }
    }

    func contains(_ id: String) -> Bool {
        guard let key = ImageKey(hex: id) else { return false }
        return state.withLock { $0.images[key] != nil }
    }

    /// The `k` images nearest `query` that pass `filter`, skipping `excluded`.
    func nearest(_ query: [Float], k: Int, filter: SearchFilter, excluding excluded: ImageKey?, pool: ComputePool) throws -> [ImageMatch] {
        try state.withLock { (contents: inout Contents) throws -> [ImageMatch] in
            let images = contents.images
            var accept: (@Sendable (ImageKey) -> Bool)?
            if !filter.isEmpty || excluded != nil {
                accept = { key in key != excluded && (images[key].map { filter.accepts($0) } ?? false) }
            }
            let hits = try contents.index.search([query], k: k, pool: pool, accept: accept)[0]
            return hits.compactMap { hit -> ImageMatch? in
                guard let image = images[hit.id] else { return nil }
                return ImageMatch(imageID: hit.id.description, score: hit.score, image: image)
            }
        }
    }

    /// Every image that passes `filter`, scored by the classifier's probability of class `label`
    /// from its embedding (head weight [classes, E], bias [classes]); the best `limit` first. The
    /// softmax runs over `among` (a multi-head model's head of `label`), all classes by default.
    func rankedByClass(_ label: Int, weight: [Float], bias: [Float], among: Range<Int>? = nil, filter: SearchFilter,
                       limit: Int) -> [ImageMatch] {
        state.withLock { contents in
            let classes = bias.count
            // logits = norm · (unit · Wᵀ) + b: the index keeps unit vectors and each norm.
            let (ids, projected) = contents.index.project(weight, columns: classes)
            var scored: [(score: Float, row: Int)] = []
            for row in ids.indices {
                guard let image = contents.images[ids[row]], filter.accepts(image) else { continue }
                var logits = [Float](repeating: 0, count: classes)
                var largest = -Float.infinity
                for c in 0..<classes {
                    logits[c] = image.norm * projected[row * classes + c] + bias[c]
                    largest = max(largest, logits[c])
                }
                let slice = among ?? 0..<classes
                let peak = slice.map { logits[$0] }.max() ?? largest
                var sum: Float = 0
                for c in slice { sum += expf(logits[c] - peak) }
                scored.append((expf(logits[label] - peak) / sum, row))
            }
            // Ties by row, so the order is total.
            scored.sort { $0.score > $1.score || ($0.score == $1.score && $0.row < $1.row) }
            return scored.prefix(limit).map { entry in
                ImageMatch(imageID: ids[entry.row].description, score: entry.score, image: contents.images[ids[entry.row]]!)
            }
        }
    }
}
