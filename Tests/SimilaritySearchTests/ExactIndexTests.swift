import Tensor
import Testing
@testable import SimilaritySearch

/// The index against a naive reference: every stored vector's cosine with the query, sorted.
@Suite struct ExactIndexTests {
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func vectors(_ count: Int, dimension: Int, seed: UInt64) -> [[Float]] {
        var generator = Generator(state: seed)
        return (0..<count).map { _ in (0..<dimension).map { _ in Float.random(in: -1...1, using: &generator) } }
    }

    static func reference(_ stored: [String: [Float]], query: [Float], k: Int) -> [SearchHit<String>] {
        func unit(_ v: [Float]) -> [Float] { let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot(); return v.map { $0 / n } }
        let q = unit(query)
        return stored.map { id, vector in SearchHit(id: id, score: zip(unit(vector), q).reduce(0) { $0 + $1.0 * $1.1 }) }
            .sorted { $0.score > $1.score }.prefix(k).map { $0 }
    }

    /// Same scores in the same order, each id's reported score its true one (ids of equal scores
    /// may trade places).
    static func expectMatches(_ hits: [SearchHit<String>], _ expected: [SearchHit<String>], stored: [String: [Float]], query: [Float],
                              sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(hits.count == expected.count, sourceLocation: sourceLocation)
        for (hit, want) in zip(hits, expected) {
            #expect(abs(hit.score - want.score) < 1e-4, "\(hit) vs \(want)", sourceLocation: sourceLocation)
            let truth = reference([hit.id: stored[hit.id]!], query: query, k: 1)[0].score
            #expect(abs(hit.score - truth) < 1e-4, sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: [1, 2])
    func topKIsExactAgainstTheNaiveReference(threads: Int) throws {
        var index = ExactIndex<String>(dimension: 24)
        var stored: [String: [Float]] = [:]
        for (offset, vector) in Self.vectors(5000, dimension: 24, seed: 1).enumerated() {
            stored["img-\(offset)"] = vector
            try index.upsert(id: "img-\(offset)", vector: vector)
        }
        let queries = Self.vectors(17, dimension: 24, seed: 2)
        let results = try index.search(queries, k: 10, pool: ComputePool(threads: threads))
        #expect(results.count == 17)
        for (query, hits) in zip(queries, results) {
            Self.expectMatches(hits, Self.reference(stored, query: query, k: 10), stored: stored, query: query)
        }
        let one = try index.search([queries[0]], k: 3, pool: ComputePool(threads: threads))[0]
        #expect(one.map(\.id) == results[0].prefix(3).map(\.id), "a single query gives the batch's answer")
    }

    @Test func removalsAndReplacementsKeepSearchesExact() throws {
        var index = ExactIndex<String>(dimension: 16)
        var stored: [String: [Float]] = [:]
        let all = Self.vectors(1200, dimension: 16, seed: 3)
        for (offset, vector) in all.enumerated() {
            stored["\(offset)"] = vector
            try index.upsert(id: "\(offset)", vector: vector)
        }
        for offset in stride(from: 0, to: 1200, by: 3) {
            let removed = index.remove(id: "\(offset)")
            #expect(removed)
            stored["\(offset)"] = nil
        }
        let again = index.remove(id: "0")
        #expect(!again, "already gone")
        for (offset, vector) in Self.vectors(50, dimension: 16, seed: 4).enumerated() {
            stored["\(offset * 3 + 1)"] = vector
            try index.upsert(id: "\(offset * 3 + 1)", vector: vector)
        }
        #expect(index.count == stored.count && index.count == 800)
        let queries = Self.vectors(5, dimension: 16, seed: 5)
        for (query, hits) in zip(queries, try index.search(queries, k: 25, pool: ComputePool(threads: 2))) {
            Self.expectMatches(hits, Self.reference(stored, query: query, k: 25), stored: stored, query: query)
        }
        for id in ["1", "4", "2"] { #expect(index.vector(of: id)?.count == 16) }
        #expect(index.vector(of: "3") == nil)
    }

    @Test func aFilterSkipsRowsAndTheRestStayExact() throws {
        var index = ExactIndex<String>(dimension: 8)
        var even: [String: [Float]] = [:]
        for (offset, vector) in Self.vectors(3000, dimension: 8, seed: 6).enumerated() {
            try index.upsert(id: "\(offset)", vector: vector)
            if offset % 2 == 0 { even["\(offset)"] = vector }
        }
        let query = Self.vectors(1, dimension: 8, seed: 7)[0]
        let hits = try index.search([query], k: 12, pool: ComputePool(threads: 2)) { Int($0)! % 2 == 0 }[0]
        #expect(hits.allSatisfy { Int($0.id)! % 2 == 0 })
        Self.expectMatches(hits, Self.reference(even, query: query, k: 12), stored: even, query: query)
    }

    @Test func badVectorsAreRefusedWithAReason() throws {
        var index = ExactIndex<String>(dimension: 4)
        func store(_ vector: [Float]) throws {
            var copy = index
            try copy.upsert(id: "a", vector: vector)
        }
        #expect(throws: SimilarityError.dimensionMismatch(expected: 4, got: 3)) { try store([1, 2, 3]) }
        #expect(throws: SimilarityError.zeroVector) { try store([0, 0, 0, 0]) }
        #expect(throws: SimilarityError.notFinite) { try store([1, .nan, 0, 0]) }
        try index.upsert(id: "a", vector: [3, 4, 0, 0])
        #expect(index.vector(of: "a") == [0.6, 0.8, 0, 0], "stored normalised")
        #expect(throws: SimilarityError.invalidK(0)) { _ = try index.search([[1, 0, 0, 0]], k: 0, pool: ComputePool(threads: 1)) }
        #expect(try index.search([[1, 0, 0, 0]], k: 5, pool: ComputePool(threads: 1))[0] == [SearchHit(id: "a", score: 0.6)])
        #expect(try ExactIndex<String>(dimension: 4).search([[1, 0, 0, 0]], k: 5, pool: ComputePool(threads: 1)) == [[]], "empty index")
    }

    @Test func imageKeysRoundTripAndRefuseWhatIsNotAnImageID() {
        let hex = "00ff10aa" + String(repeating: "0123456789abcdef", count: 3) + "deadbeef"
        #expect(ImageKey(hex: hex)?.description == hex)
        #expect(ImageKey(hex: hex.uppercased())?.description == hex, "read in either case, written lower-case")
        #expect(ImageKey(hex: String(hex.dropLast())) == nil && ImageKey(hex: hex + "0") == nil)
        #expect(ImageKey(hex: String(hex.dropLast()) + "g") == nil)
        #expect(ImageKey(hex: hex) == ImageKey(hex: hex) && ImageKey(hex: hex) != ImageKey(hex: String(repeating: "0", count: 64)))
    }
}
