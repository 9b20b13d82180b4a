import Foundation
import Testing
@testable import Reports

@Suite struct ClassificationMetricsTests {
    // Hand-counted example (classes: cat, dog, bird, fish)
    //   true: cat cat cat dog dog bird bird
    //   pred: cat cat dog dog cat cat  dog
    // Confusion (rows true, cols pred):
    //   cat : 2 1 0 0 | dog: 1 1 0 0 | bird: 1 1 0 0 | fish: 0 0 0 0
    // accuracy 3/7
    // cat : P = 2/4, R = 2/3, F1 = 4/7, support 3
    // dog : P = 1/3, R = 1/2, F1 = 2/5, support 2
    // bird: never predicted → P = 0 (convention), R = 0/2, F1 = 0, support 2
    // fish: no support, never predicted → 0, 0, 0, support 0
    // macro: P = (1/2 + 1/3)/4 = 5/24, R = (2/3 + 1/2)/4 = 7/24, F1 = (4/7 + 2/5)/4 = 17/70
    // weighted: P = (3·1/2 + 2·1/3)/7 = 13/42, R = (3·2/3 + 2·1/2)/7 = 3/7,
    //           F1 = (3·4/7 + 2·2/5)/7 = 88/245
    static let names = ["cat", "dog", "bird", "fish"]
    static let truth = [0, 0, 0, 1, 1, 2, 2]
    static let pred = [0, 0, 1, 1, 0, 0, 1]

    func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) < 1e-12 }

    @Test func handCountedExample() {
        let m = ClassificationMetrics(trueLabels: Self.truth, predictedLabels: Self.pred, classNames: Self.names)
        #expect(m.confusionMatrix == [[2, 1, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0]])
        #expect(m.total == 7)
        #expect(m.ignoredCount == 0)
        #expect(close(m.accuracy, 3.0 / 7))
        let expected: [(Double, Double, Double, Int)] = [
            (1.0 / 2, 2.0 / 3, 4.0 / 7, 3),
            (1.0 / 3, 1.0 / 2, 2.0 / 5, 2),
            (0, 0, 0, 2),
            (0, 0, 0, 0),
        ]
        for (i, e) in expected.enumerated() {
            let c = m.perClass[i]
            #expect(c.label == Self.names[i])
            #expect(close(c.precision, e.0), "precision \(c.label)")
            #expect(close(c.recall, e.1), "recall \(c.label)")
            #expect(close(c.f1, e.2), "f1 \(c.label)")
            #expect(c.support == e.3)
        }
        #expect(close(m.macroAverage.precision, 5.0 / 24))
        #expect(close(m.macroAverage.recall, 7.0 / 24))
        #expect(close(m.macroAverage.f1, 17.0 / 70))
        #expect(close(m.weightedAverage.precision, 13.0 / 42))
        #expect(close(m.weightedAverage.recall, 3.0 / 7))
        #expect(close(m.weightedAverage.f1, 88.0 / 245))
        #expect(m.macroAverage.support == 7 && m.weightedAverage.support == 7)
    }

    @Test func fromConfusionMatrixMatchesFromLabels() {
        let a = ClassificationMetrics(trueLabels: Self.truth, predictedLabels: Self.pred, classNames: Self.names)
        let b = ClassificationMetrics(confusionMatrix: a.confusionMatrix, classNames: Self.names)
        #expect(a == b)
    }

    @Test func perfectPredictions() {
        let m = ClassificationMetrics(trueLabels: [0, 1, 2, 1], predictedLabels: [0, 1, 2, 1], classNames: ["a", "b", "c"])
        #expect(m.accuracy == 1)
        #expect(m.perClass.allSatisfy { $0.precision == 1 && $0.recall == 1 && $0.f1 == 1 })
        #expect(m.normalizedConfusionMatrix == [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    }

    @Test(arguments: [
        ([0, 5, -1, 1], [0, 1, 1, 9], 3, 1),   // out-of-range labels ignored
        ([0, 1, 1], [0], 2, 1),                 // length mismatch: only common prefix used
        ([], [], 0, 0),
    ])
    func ignoresInvalidPairs(truth: [Int], pred: [Int], ignored: Int, counted: Int) {
        let m = ClassificationMetrics(trueLabels: truth, predictedLabels: pred, classNames: ["a", "b"])
        #expect(m.ignoredCount == ignored)
        #expect(m.total == counted)
        #expect(m.accuracy.isFinite)
    }

    @Test func noClasses() {
        let m = ClassificationMetrics(trueLabels: [], predictedLabels: [], classNames: [])
        #expect(m.accuracy == 0 && m.perClass.isEmpty && m.confusionMatrix.isEmpty)
        #expect(m.macroAverage.f1 == 0)
        _ = m.renderText()
    }

    @Test func codableRoundTrip() throws {
        let m = ClassificationMetrics(trueLabels: Self.truth, predictedLabels: Self.pred, classNames: Self.names)
        let data = try JSONEncoder().encode(m)
        let back = try JSONDecoder().decode(ClassificationMetrics.self, from: data)
        #expect(back == m)
        let json = String(decoding: data, as: UTF8.self)
        #expect(json.contains("\"confusionMatrix\""))
        #expect(json.contains("\"macroAverage\""))
    }

    @Test func textRendererIsAligned() {
        let m = ClassificationMetrics(trueLabels: Self.truth, predictedLabels: Self.pred, classNames: Self.names)
        let text = m.renderText(digits: 2)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0].contains("precision") && lines[0].contains("f1-score") && lines[0].contains("support"))
        // Rows of the per-class block share the same width; numbers right-aligned under headers.
        let rows = lines.filter { l in Self.names.contains { l.trimmingCharacters(in: .whitespaces).hasPrefix($0 + " ") } && l.contains(".") }
        #expect(rows.count == 4)
        #expect(Set(rows.map(\.count)).count == 1)
        #expect(rows[0].count == lines[0].count)
        #expect(rows[0].hasSuffix(" 3"))
        #expect(rows[0].contains("0.50") && rows[0].contains("0.67") && rows[0].contains("0.57"))
        #expect(text.contains("accuracy"))
        #expect(text.contains("0.43"))
        #expect(text.contains("Confusion matrix"))
        // Confusion rows present: "cat" row has counts 2 1 0 0.
        let cmCat = lines.last { $0.trimmingCharacters(in: .whitespaces).hasPrefix("cat") }!
        #expect(cmCat.split(separator: " ").map(String.init) == ["cat", "2", "1", "0", "0"])
    }
}
