import Foundation
import Serving
import Testing
import Tensor
@testable import Retraining

@Suite struct EmbeddingMapTests {
    /// A fit on a sample of many points finds the same main axis as the data has, and places
    /// every point, sampled or not, along it.
    @Test func aSampledFitFindsTheMainAxes() throws {
        var rng = SeededGenerator(seed: 4)
        // 5,000 points in 8 dimensions: wide along dimension 2, narrower along 5, noise elsewhere.
        let points = (0..<5000).map { _ in
            (0..<8).map { d -> Float in rng.nextNormal() * (d == 2 ? 10 : d == 5 ? 4 : 0.5) + 3 }
        }
        let map = EmbeddingMap(fitting: points)
        #expect(map.fittedOn == 5000)
        #expect(abs(map.axes[0][2]) > 0.99 && abs(map.axes[1][5]) > 0.99)
        #expect(map.explainedVariance[0] > map.explainedVariance[1] && map.explainedVariance[0] > 0.7)
        let placed = try #require(map.place(points[4321]))
        let expected = zip(points[4321], zip(map.mean, map.axes[0])).reduce(Float(0)) { $0 + ($1.0 - $1.1.0) * $1.1.1 }
        #expect(abs(placed.x - expected) < 1e-3)
        #expect(map.place([1, 2, 3]) == nil, "a vector of another size has no place")
    }

    /// Keyset tokens: parsed only for their own order, and a page resumes strictly after its key.
    @Test func pageTokensRoundTripAndRejectOtherOrders() throws {
        let id = String(repeating: "ab", count: 32)
        func candidate(_ margin: Float, _ id: String, _ sequence: UInt64) -> RecentImages.Candidate {
            RecentImages.Candidate(imageID: id, seen: RecentImages.Seen(model: "m", version: 1, labels: [], margin: margin,
                                                                         isBoundary: false, sequence: sequence), embedding: nil)
        }
        let last = candidate(0.25, id, 7)
        let token = PageToken(after: last, order: .marginAscending)
        let parsed = try #require(try PageToken(token.text, order: .marginAscending))
        #expect(parsed.key == .margin(0.25, id))
        #expect(parsed.isBefore(candidate(0.25, String(repeating: "ac", count: 32), 1)), "same margin, later id")
        #expect(!parsed.isBefore(last) && !parsed.isBefore(candidate(0.1, id, 9)))
        #expect(throws: ServingError.self) { try PageToken(token.text, order: .newestFirst) }
        #expect(throws: ServingError.self) { try PageToken("m:zz:\(id)", order: .marginAscending) }
        #expect(try PageToken("", order: .newestFirst) == nil)
        let newest = try #require(try PageToken(PageToken(after: last, order: .newestFirst).text, order: .newestFirst))
        #expect(newest.isBefore(candidate(0.9, id, 6)) && !newest.isBefore(candidate(0.9, id, 8)))
    }
}
