import Testing
@testable import Serving

@Suite struct PredictionTests {
    static let labels = ["a", "b", "c", "d"]

    /// Ranking is by score, top-k is capped by the class count, the margin is top-1 minus top-2
    /// over all classes, and the boundary flag compares it with the threshold.
    @Test(arguments: [
        ([Float(0.1), 0.6, 0.2, 0.1], 2, Float(0.2)),
        ([Float(0.1), 0.45, 0.4, 0.05], 1, Float(0.2)),
        ([Float(0.25), 0.25, 0.25, 0.25], 0, Float(0.01)),
        ([Float(0.7), 0.1, 0.15, 0.05], 9, Float(0.5)),
    ])
    func rankingIsConsistentWithProbabilities(probabilities: [Float], topK: Int, threshold: Float) {
        let ranked = Prediction.rank(probabilities, labels: Self.labels, topK: topK, threshold: threshold)
        #expect(ranked.labels.count == min(topK == 0 ? Prediction.defaultTopK : topK, probabilities.count))
        #expect(zip(ranked.labels, ranked.labels.dropFirst()).allSatisfy { $0.score >= $1.score })
        for label in ranked.labels {
            #expect(probabilities[label.index] == label.score)
            #expect(Self.labels[label.index] == label.label)
        }
        let sorted = probabilities.sorted(by: >)
        #expect(ranked.margin == sorted[0] - sorted[1])
        #expect(ranked.isBoundary == (ranked.margin < threshold))
        #expect(ranked.labels[0].score == sorted[0])
    }

    @Test(arguments: ["", "stable", "serving", "latest", "3", " 12 "])
    func versionSelectorsParse(text: String) throws {
        let selector = try VersionSelector(parsing: text)
        switch text.trimmingCharacters(in: .whitespaces) {
        case "latest": #expect(selector == .latest)
        case "3": #expect(selector == .number(3))
        case "12": #expect(selector == .number(12))
        default: #expect(selector == .serving)
        }
    }

    @Test(arguments: ["0", "-1", "v2", "newest"])
    func badVersionSelectorsAreRefused(text: String) {
        #expect(throws: ServingError.self) { try VersionSelector(parsing: text) }
    }
}
