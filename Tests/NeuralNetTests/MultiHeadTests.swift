import Foundation
import Testing
import Tensor
@testable import NeuralNet

/// Multi-head specs, the per-head softmax and `MultiHeadLoss` (against finite differences of its
/// own value and against `ClassificationLoss` on each head alone).
@Suite struct MultiHeadTests {
    static let heads = [HeadSpec(name: "aperture", labels: ["low", "mid", "high"]), HeadSpec(name: "iso", labels: ["low", "high"])]
    static let spec = ModelSpec(name: "two-heads", input: InputSpec(channels: 1, height: 4, width: 4, mean: [0], std: [1]),
                                layers: [.globalAvgPool, .dense(out: 6), .dense(out: nil)], heads: heads)

    @Test func aMultiHeadSpecQualifiesItsLabelsAndRoundTripsThroughJSON() throws {
        #expect(Self.spec.labels == ["aperture:low", "aperture:mid", "aperture:high", "iso:low", "iso:high"])
        #expect(Self.spec.outputHeads.map(\.range) == [0..<3, 3..<5])
        let decoded = try ModelSpec.decode(try Self.spec.jsonData())
        #expect(decoded == Self.spec)
        // A classic spec has one unnamed head and no `heads` key.
        let classic = ModelSpec.sceneS(labels: ["a", "b"])
        #expect(classic.outputHeads == [OutputHead(name: "", labels: ["a", "b"], offset: 0)])
        #expect(!String(decoding: try classic.jsonData(), as: UTF8.self).contains("heads"))
        let network = try Network(spec: Self.spec)
        #expect(network.classCount == 5)
    }

    @Test func inconsistentHeadsAreRefusedWithTheReason() {
        func refusal(_ heads: [HeadSpec], labels: [String]? = nil) -> String {
            var spec = Self.spec
            spec.heads = heads
            spec.labels = labels ?? HeadSpec.qualifiedLabels(heads)
            do { _ = try Network(spec: spec); return "accepted" } catch { return "\(error)" }
        }
        #expect(refusal([HeadSpec(name: "a", labels: ["x"]), HeadSpec(name: "a", labels: ["y"])]).contains("declared twice"))
        #expect(refusal([HeadSpec(name: "a", labels: [])]).contains("has no labels"))
        #expect(refusal([HeadSpec(name: "a:b", labels: ["x"])]).contains("no ':'"))
        #expect(refusal([HeadSpec(name: "a", labels: ["x", "x"])]).contains("repeats a label"))
        #expect(refusal(Self.heads, labels: ["a", "b", "c", "d", "e"]).contains("head:label"))
    }

    @Test func eachHeadsProbabilitiesSumToOne() throws {
        let network = try Network(spec: Self.spec, seed: 3)
        let model = network.inferenceModel()
        let session = InferenceSession(model: model, threads: 1)
        let input = (0..<32).map { Float($0 % 7) * 0.3 - 1 }
        var probabilities = [Float](repeating: 0, count: 10)
        input.withUnsafeBufferPointer { x in
            probabilities.withUnsafeMutableBufferPointer { session.run(x.baseAddress!, batch: 2, probabilities: $0.baseAddress!) }
        }
        for row in 0..<2 {
            #expect(abs(probabilities[(row * 5)..<(row * 5 + 3)].reduce(0, +) - 1) < 1e-5)
            #expect(abs(probabilities[(row * 5 + 3)..<(row * 5 + 5)].reduce(0, +) - 1) < 1e-5)
        }
    }

    static let outputHeads = spec.outputHeads
    static let targets: [[Target?]] = [[.label(0), nil, .notLabel(2), .label(1)], [.label(1), .label(0), nil, nil]]
    static let weights: [Float] = [1, 3, 0.5, 2]

    static func loss(_ logits: [Float], gradient: UnsafeMutablePointer<Float>? = nil) -> MultiHeadLoss.Result {
        logits.withUnsafeBufferPointer {
            MultiHeadLoss.evaluate(logits: $0.baseAddress!, heads: outputHeads, targets: targets, weights: weights,
                                   labelSmoothing: 0.1, gradient: gradient)
        }
    }

    @Test func theGradientMatchesFiniteDifferencesAndUnlabelledSlicesGetNone() {
        var rng = SeededGenerator(seed: 5)
        let logits = (0..<20).map { _ in rng.nextNormal() * 2 }
        var gradient = [Float](repeating: .nan, count: 20)
        let result = gradient.withUnsafeMutableBufferPointer { Self.loss(logits, gradient: $0.baseAddress!) }
        #expect(result.labelled == [3, 2])
        for i in 0..<20 {
            var plus = logits, minus = logits
            plus[i] += 1e-2
            minus[i] -= 1e-2
            let numeric = (Self.loss(plus).loss - Self.loss(minus).loss) / 2e-2
            #expect(abs(numeric - gradient[i]) < 2e-3, "logit \(i): numeric \(numeric), analytic \(gradient[i])")
        }
        // Sample 1 has no aperture target and samples 2 and 3 no iso target: no gradient there.
        #expect(gradient[5..<8].allSatisfy { $0 == 0 })
        #expect(gradient[13..<15].allSatisfy { $0 == 0 } && gradient[18..<20].allSatisfy { $0 == 0 })
    }

    @Test func theLossIsTheSumOfEachHeadsOwnLossOverItsLabelledSamples() {
        var rng = SeededGenerator(seed: 9)
        let logits = (0..<20).map { _ in rng.nextNormal() }
        let result = Self.loss(logits)
        var expected: Float = 0
        var correct: [Int] = []
        for (h, head) in Self.outputHeads.enumerated() {
            let rows = (0..<4).filter { Self.targets[h][$0] != nil }
            let slice = rows.flatMap { i in (0..<head.count).map { logits[i * 5 + head.offset + $0] } }
            let alone = slice.withUnsafeBufferPointer {
                ClassificationLoss.evaluate(logits: $0.baseAddress!, classes: head.count, targets: rows.map { Self.targets[h][$0]! },
                                            weights: rows.map { Self.weights[$0] }, labelSmoothing: 0.1)
            }
            expected += alone.loss
            correct.append(alone.correct)
        }
        #expect(abs(result.loss - expected) < 1e-5)
        #expect(result.correct == correct)
    }
}
