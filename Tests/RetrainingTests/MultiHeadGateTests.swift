import BoundaryTestSupport
import Foundation
import Imaging
import NeuralNet
import Testing
import Training
@testable import Retraining

/// The gate of a multi-head model judges every head on its own samples: a candidate that buys
/// one head's gain with the other's loss is refused, even when the pooled numbers improve.
@Suite struct MultiHeadGateTests {
    /// Copies the network and permutes the rows of its final layer that belong to `head`
    /// (row r takes row order[r]'s weights and bias): that head now answers wrongly.
    static func scrambled(_ network: Network, head: OutputHead, order: [Int]) throws -> Network {
        let copy = try Network(spec: network.spec, seed: 0)
        try copy.load(try network.archive())
        let last = "layers.\(network.spec.layers.count - 1)"
        let weight = copy.parameters.entry(named: "\(last).weight")!, bias = copy.parameters.entry(named: "\(last).bias")!
        let w = copy.parameters.pointer(for: weight), b = copy.parameters.pointer(for: bias)
        let columns = network.embeddingSize
        let originalW = Array(UnsafeBufferPointer(start: w, count: weight.slot.count))
        let originalB = Array(UnsafeBufferPointer(start: b, count: bias.slot.count))
        for (row, source) in order.enumerated() {
            for c in 0..<columns { w[(head.offset + row) * columns + c] = originalW[(head.offset + source) * columns + c] }
            b[head.offset + row] = originalB[head.offset + source]
        }
        return copy
    }

    @Test func aCandidateThatTradesOneHeadForTheOtherIsRefusedWhereThePooledGateWouldPromote() throws {
        let trained = try Network(spec: MultiHeadFixtures.spec, threads: 2, seed: 5)
        _ = try ClassifierTrainer(network: trained, config: TrainingConfig(
            epochs: 6, batchSize: 15, learningRate: 1e-2, augmentation: nil, patience: nil, seed: 2, threads: 2))
            .run(train: MultiHeadFixtures.decoded(count: 90, seed: 1), validation: DecodedImages())
        let heads = trained.spec.outputHeads
        // The serving version gets every tone wrong; the candidate fixes tone and breaks pattern.
        let parent = try Self.scrambled(trained, head: heads[1], order: [1, 0])
        let candidate = try Self.scrambled(trained, head: heads[0], order: [1, 2, 0])

        // Evaluation samples: the pattern of 60 images, the tone of 120 (targets index the whole
        // label list, as the retrain builds them).
        let patternImages = MultiHeadFixtures.decoded(count: 60, seed: 2), toneImages = MultiHeadFixtures.decoded(count: 120, seed: 3)
        func inputs(_ images: DecodedImages, head h: Int) -> [LabelledInput] {
            var result: [LabelledInput] = []
            let spec = PreprocessSpec(trained.spec.input)
            BatchLoader(images: images, spec: spec, batchSize: 1).forEachBatch(epoch: 0, shuffle: false) { batch in
                let size = spec.floatsPerImage
                let label = images.headLabels[batch.indices[0]][h]!
                result.append(LabelledInput(input: Array(UnsafeBufferPointer(start: batch.input, count: size)),
                                            target: .label(heads[h].offset + label), isBoundary: h == 1))
            }
            return result
        }
        let samples = inputs(patternImages, head: 0) + inputs(toneImages, head: 1)
        let before = FineTuner.correct(FineTuner.predict(parent.inferenceModel(), samples, threads: 1), samples)
        let after = FineTuner.correct(FineTuner.predict(candidate.inferenceModel(), samples, threads: 1), samples)
        let patternBefore = before.prefix(60).filter { $0 }.count, patternAfter = after.prefix(60).filter { $0 }.count
        let toneBefore = before.suffix(120).filter { $0 }.count, toneAfter = after.suffix(120).filter { $0 }.count
        #expect(patternBefore >= 55 && patternAfter <= 5, "pattern right \(patternBefore) → \(patternAfter) of 60")
        #expect(toneBefore <= 10 && toneAfter >= 110, "tone right \(toneBefore) → \(toneAfter) of 120")

        var perClass: [String: Int] = [:]
        for sample in samples { perClass[trained.spec.labels[sample.target.index], default: 0] += 1 }
        let decide = { (heads: [String]?) in
            PromotionGate.decide(parent: before, candidate: after, isBoundary: samples.map(\.isBoundary),
                                 isTrusted: samples.map { _ in true }, perClass: perClass, policy: GatePolicy(), heads: heads)
        }
        // Pooled, the candidate looks better everywhere: more right overall and on the boundary.
        let pooled = decide(nil)
        #expect(pooled.decision == .promote, "\(pooled.reason)")
        // Per head, as the retrain calls it: refused, naming the head that broke.
        let perHead = decide(samples.map { heads.head(containing: $0.target.index).name })
        #expect(perHead.decision == .refuse)
        #expect(perHead.reason.hasPrefix("refused: worse on head 'pattern'"), "\(perHead.reason)")
        #expect(perHead.heads["pattern"]?.samples == 60 && perHead.heads["tone"]?.samples == 120)
    }

    @Test func aHeadThatHoldsWhileTheOtherImprovesPasses() {
        // 60 pattern samples unchanged, 120 tone samples of which the candidate fixes 40.
        let parent = Array(repeating: true, count: 60) + Array(repeating: false, count: 40) + Array(repeating: true, count: 80)
        let candidate = Array(repeating: true, count: 180)
        let heads = Array(repeating: "pattern", count: 60) + Array(repeating: "tone", count: 120)
        let verdict = PromotionGate.decide(
            parent: parent, candidate: candidate, isBoundary: (0..<180).map { $0 >= 60 && $0 < 100 },
            isTrusted: Array(repeating: true, count: 180), perClass: ["pattern:a": 60, "tone:b": 120], policy: GatePolicy(),
            heads: heads)
        #expect(verdict.decision == .promote, "\(verdict.reason)")
        #expect(verdict.heads["tone"]?.onlyCandidate == 40 && verdict.heads["pattern"]?.onlyParent == 0)
    }
}

/// The poisoning screen judges a multi-head sample within its own head.
@Suite struct MultiHeadScreenTests {
    @Test func aLabelIsContradictedOnlyByItsOwnHeadsAnswer() {
        let heads = [OutputHead(name: "pattern", labels: ["a", "b", "c"], offset: 0), OutputHead(name: "tone", labels: ["dark", "light"], offset: 3)]
        // Every row: pattern confidently "a" (0.9), tone "dark" (0.6): over the whole row "a" wins.
        let row: [Float] = [0.9, 0.05, 0.05, 0.6, 0.4]
        let reference = FeedbackScreen.View(probabilities: Array((0..<40).map { _ in row }.joined()),
                                            embeddings: (0..<40).flatMap { i in [Float(i % 4), 1] })
        let feedback = FeedbackScreen.View(probabilities: row, embeddings: [1, 1])
        let labels = (0..<40).map { $0 % 2 == 0 ? 0 : 3 }
        func contradicted(_ heads: [OutputHead]?) -> Int {
            FeedbackScreen(policy: ScreenPolicy()).screen(
                targets: [.label(3)], users: ["u"], released: [false], feedback: feedback, reference: reference,
                referenceLabels: labels, classes: 5, embeddingSize: 2, heads: heads).users[0].contradicted
        }
        #expect(contradicted(heads) == 0, "the tone head says dark, as the label does")
        #expect(contradicted(nil) == 1, "over the whole row, pattern's 'a' would contradict it")
    }
}
