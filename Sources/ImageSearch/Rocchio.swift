/// Rocchio relevance feedback (Rocchio 1971): the query is the starting point moved toward the
/// mean of everything marked relevant and away from the mean of everything marked not relevant.
/// Every round recomputes it from the start and all marks so far (the formula's own form), not
/// from the previous round's vector, so a noisy round is outweighed as marks accumulate and a new
/// backbone can recompute it exactly. Vectors are unit embeddings; the index normalises the result.
public struct Rocchio: Sendable, Equatable {
    public var alpha: Float
    public var beta: Float
    public var gamma: Float

    /// α = β = γ = 1: on the demo data (docs/search-precision.md) the SMART defaults (1, 0.75,
    /// 0.15) left two of four words where their example put them; equal weights raised all four.
    public init(alpha: Float = 1, beta: Float = 1, gamma: Float = 1) {
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
    }

    /// q = α·start + β·mean(relevant) − γ·mean(notRelevant); `start` empty means no example.
    /// Returns an empty vector when nothing is left to point with (no query, no relevant marks).
    public func update(_ query: [Float], relevant: [[Float]], notRelevant: [[Float]], dimension: Int) -> [Float] {
        guard !query.isEmpty || !relevant.isEmpty else { return [] }
        var result = query.isEmpty ? [Float](repeating: 0, count: dimension) : query.map { $0 * alpha }
        for (vectors, weight) in [(relevant, beta), (notRelevant, -gamma)] where !vectors.isEmpty {
            let scale = weight / Float(vectors.count)
            for vector in vectors {
                for i in 0..<dimension { result[i] += scale * vector[i] }
            }
        }
        return result.contains { $0 != 0 } ? result : []
    }
}
