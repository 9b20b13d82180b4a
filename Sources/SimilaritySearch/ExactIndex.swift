import BLAS
import Tensor

/// One search result: a stored id and its cosine similarity to the query.
public struct SearchHit<ID: Hashable & Sendable>: Sendable, Equatable {
    public var id: ID
    public var score: Float

    public init(id: ID, score: Float) {
        self.id = id
        self.score = score
    }
}

public enum SimilarityError: Error, Equatable, CustomStringConvertible {
    case dimensionMismatch(expected: Int, got: Int)
    case zeroVector
    case notFinite
    case invalidK(Int)

    public var description: String {
        switch self {
        case .dimensionMismatch(let expected, let got): "the vector has \(got) values; this index holds \(expected)-d embeddings"
        case .zeroVector: "the vector is all zeros: it has no direction to compare"
        case .notFinite: "the vector holds NaN or infinity"
        case .invalidK(let k): "k must be at least 1, got \(k)"
        }
    }
}

/// An exact inner-product index over L2-normalised vectors, so scores are cosine similarities.
///
/// The stored vectors are one row-major matrix `[count, dimension]` with the ids beside it: a
/// search is `cblas_sgemm` of the queries against blocks of that matrix and a bounded heap per query
/// (what faiss's `IndexFlatIP` does), rows split across the pool's workers. Adding appends a row
/// (amortised O(1)); removing moves the last row into the hole (O(1)), so the matrix never has gaps.
/// A value type: a copy is a snapshot that later changes to the original do not touch. `ID` is
/// what names a stored vector; image ids are 64 hex digits, which ``ImageKey`` keeps in 32 bytes.
public struct ExactIndex<ID: Hashable & Sendable>: Sendable {
    public let dimension: Int
    private var matrix: [Float] = []
    private var ids: [ID] = []
    private var rows: [ID: Int] = [:]

    /// Stored rows scored per sgemm call for `queries` queries: the block of scores (queries ×
    /// rows, at most 256 K floats = 1 MiB) stays in cache while the heaps read it.
    static func block(queries: Int) -> Int { max(1024, min(4096, (256 << 10) / max(1, queries))) }

    public init(dimension: Int) {
        precondition(dimension > 0, "an index needs a positive dimension")
        self.dimension = dimension
    }

    public var count: Int { ids.count }
    public func contains(_ id: ID) -> Bool { rows[id] != nil }

    /// The stored (normalised) vector of `id`.
    public func vector(of id: ID) -> [Float]? {
        rows[id].map { Array(matrix[$0 * dimension..<($0 + 1) * dimension]) }
    }

    /// `vector` scaled to unit length, or why it cannot be.
    public func normalised(_ vector: [Float]) throws -> [Float] {
        guard vector.count == dimension else { throw SimilarityError.dimensionMismatch(expected: dimension, got: vector.count) }
        guard vector.allSatisfy(\.isFinite) else { throw SimilarityError.notFinite }
        let norm = vector.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        guard norm > 0, norm.isFinite else { throw SimilarityError.zeroVector }
        return vector.map { $0 / norm }
    }

    /// Stores `vector` (normalised) as `id`, replacing what `id` had.
    public mutating func upsert(id: ID, vector: [Float]) throws {
        let unit = try normalised(vector)
        if let row = rows[id] {
            matrix.replaceSubrange(row * dimension..<(row + 1) * dimension, with: unit)
        } else {
            rows[id] = ids.count
            ids.append(id)
            matrix.append(contentsOf: unit)
        }
    }

    /// Removes `id`; the last row takes its place. Returns whether it was stored.
    @discardableResult
    public mutating func remove(id: ID) -> Bool {
        guard let row = rows.removeValue(forKey: id) else { return false }
        let last = ids.count - 1
        if row != last {
            let moved = ids[last]
            matrix.withUnsafeMutableBufferPointer { values in
                for offset in 0..<dimension { values[row * dimension + offset] = values[last * dimension + offset] }
            }
            ids[row] = moved
            rows[moved] = row
        }
        ids.removeLast()
        matrix.removeLast(dimension)
        return true
    }

    /// Every stored vector times `weights` [columns, d]: scores [count, columns] in row order, with
    /// the ids in that order (search by class label scores every image with the classifier head).
    public func project(_ weights: [Float], columns: Int) -> (ids: [ID], scores: [Float]) {
        precondition(weights.count == columns * dimension, "project needs weights [columns, dimension]")
        var scores = [Float](repeating: 0, count: count * columns)
        guard count > 0, columns > 0 else { return (ids, scores) }
        matrix.withUnsafeBufferPointer { stored in
            weights.withUnsafeBufferPointer { w in
                scores.withUnsafeMutableBufferPointer { out in
                    // out[count, columns] = stored[count, d] · weights[columns, d]ᵀ
                    BLAS.sgemm(transB: true, m: count, n: columns, k: dimension, a: stored.baseAddress!, lda: dimension,
                               b: w.baseAddress!, ldb: dimension, c: out.baseAddress!, ldc: columns)
                }
            }
        }
        return (ids, scores)
    }

    /// The `k` stored vectors most similar to each query, best first. `queries` holds the query
    /// vectors one after another (each normalised here); `accept` can skip rows by id (filters).
    public func search(_ queries: [[Float]], k: Int, pool: ComputePool,
                       accept: (@Sendable (ID) -> Bool)? = nil) throws -> [[SearchHit<ID>]] {
        guard k >= 1 else { throw SimilarityError.invalidK(k) }
        let units = try queries.map(normalised)
        guard !units.isEmpty, count > 0 else { return queries.map { _ in [] } }
        let q = units.count, n = count, d = dimension
        let flat = units.flatMap { $0 }
        // One heap per (worker, query); each worker scans its own contiguous share of the rows.
        var partial = [[TopK]](repeating: [], count: pool.threads)
        let results = UnsafeMutableBufferPointer<[TopK]>.allocate(capacity: pool.threads)
        results.initialize(repeating: [])
        defer {
            // The heaps are arrays: release them before the memory, or every search leaks its heaps.
            results.deinitialize()
            results.deallocate()
        }
        flat.withUnsafeBufferPointer { queryValues in
            matrix.withUnsafeBufferPointer { stored in
                pool.forEachRange(n, granularity: 256) { worker, range in
                    var heaps = (0..<q).map { _ in TopK(k) }
                    let block = Self.block(queries: q)
                    var scores = [Float](repeating: 0, count: q * block)
                    var start = range.lowerBound
                    while start < range.upperBound {
                        let rowsInBlock = min(block, range.upperBound - start)
                        scores.withUnsafeMutableBufferPointer { out in
                            // out[q, rowsInBlock] = queries[q, d] · stored[start ..< start + rowsInBlock, d]ᵀ
                            BLAS.sgemm(transB: true, m: q, n: rowsInBlock, k: d, a: queryValues.baseAddress!, lda: d,
                                       b: stored.baseAddress! + start * d, ldb: d, c: out.baseAddress!, ldc: rowsInBlock)
                            for query in 0..<q {
                                let row = out.baseAddress! + query * rowsInBlock
                                // Most scores lose to the k-th best so far: one comparison each.
                                var threshold = heaps[query].threshold
                                for column in 0..<rowsInBlock where row[column] > threshold {
                                    if let accept, !accept(ids[start + column]) { continue }
                                    heaps[query].insert(score: row[column], row: start + column)
                                    threshold = heaps[query].threshold
                                }
                            }
                        }
                        start += rowsInBlock
                    }
                    results[worker] = heaps
                }
            }
        }
        for worker in 0..<pool.threads { partial[worker] = results[worker] }
        return (0..<q).map { query in
            var merged = TopK(k)
            for heaps in partial where heaps.count == q {
                for (score, row) in heaps[query].entries { if merged.admits(score) { merged.insert(score: score, row: row) } }
            }
            return merged.sorted().map { SearchHit(id: ids[$0.row], score: $0.score) }
        }
    }
}
