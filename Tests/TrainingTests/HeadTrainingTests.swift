import Foundation
import Imaging
import NeuralNet
import Tensor
import Testing
@testable import Training

@Suite struct HeadTrainingTests {
    /// Head-only steps on cached embeddings must equal full training steps through a frozen
    /// backbone, and leave every backbone tensor bit-identical.
    @Test func headStepsMatchFrozenFullStepsAndLeaveBackboneUntouched() throws {
        let labels = ["bars-h", "bars-v", "square"]
        let images = TrainingLoopTests.dataset(perClass: 4, seed: 77)
        let spec = tinySpec(labels: labels)
        let a = try Network(spec: spec, seed: 5), b = try Network(spec: spec, seed: 5)
        // Non-trivial BatchNorm statistics, identical in both.
        let warm = TrainingLoopTests.dataset(perClass: 2, seed: 1)
        for net in [a, b] {
            _ = try ClassifierTrainer(network: net, config: TrainingConfig(epochs: 1, batchSize: 6, augmentation: nil, patience: nil))
                .run(train: warm, validation: DecodedImages())
        }
        let backboneBefore = a.parameters.entries.filter { !$0.name.hasPrefix("layers.8") }.map { a.parameters.values(of: $0.name)! }

        a.freezeBackbone()
        b.freezeBackbone()
        let config = OptimizerConfig(kind: .adamW(), learningRate: 1e-2)
        let headOptimizer = Optimizer(config: config, parameters: a.parameters)
        let fullTrainer = Trainer(network: b, optimizer: config)
        let embeddings = HeadTrainer.embed(a, images: images, threads: 1)
        let batch = preprocessedBatch(images, spec: spec)
        let targets = images.labels.map { Target.label($0) }
        for _ in 0..<3 {
            let r1 = embeddings.withUnsafeBufferPointer { a.headStep(embeddings: $0.baseAddress!, targets: targets, optimizer: headOptimizer) }
            let r2 = batch.withUnsafeBufferPointer { fullTrainer.step($0.baseAddress!, targets: targets) }
            #expect(abs(r1.loss - r2.loss) < 1e-4)
        }
        for name in ["layers.8.weight", "layers.8.bias"] {
            let x = a.parameters.values(of: name)!, y = b.parameters.values(of: name)!
            #expect(zip(x, y).allSatisfy { abs($0 - $1) < 1e-4 }, "\(name)")
        }
        let backboneAfter = a.parameters.entries.filter { !$0.name.hasPrefix("layers.8") }.map { a.parameters.values(of: $0.name)! }
        #expect(backboneAfter.map { $0.map(\.bitPattern) } == backboneBefore.map { $0.map(\.bitPattern) })
    }

    /// One head trainer for both uses: with a validation set it restores the best epoch's
    /// weights; with "not L" targets and boundary weights (feedback) it learns to avoid L.
    @Test func theHeadTrainerKeepsTheBestEpochAndLearnsComplementaryTargets() throws {
        let network = try Network(spec: tinySpec(labels: ["a", "b", "c"]), seed: 3)
        let e = network.embeddingSize
        var rng = SeededGenerator(seed: 9)
        func examples(_ n: Int) -> (embeddings: [Float], labels: [Int]) {
            let labels = (0..<n).map { $0 % 3 }
            let embeddings = (0..<n * e).map { i in rng.nextNormal() + (i % e % 3 == labels[i / e] ? 1 : 0) }
            return (embeddings, labels)
        }
        let train = examples(60), validation = examples(30)
        let trainer = HeadTrainer(network: network, config: TrainingConfig(epochs: 6, batchSize: 16, learningRate: 0.3,
                                                                           augmentation: nil, patience: nil))
        let held = HeadExamples(embeddings: validation.embeddings, labels: validation.labels)
        let result = trainer.run(train: HeadExamples(embeddings: train.embeddings, labels: train.labels), validation: held)
        let best = try #require(result.history.compactMap(\.valAccuracy).max())
        #expect(result.bestValidationAccuracy == best)
        #expect(abs(trainer.evaluate(held).accuracy - best) < 1e-9, "the best epoch's weights are the ones left")

        // Every example says "not (its label + 1) mod 3", weighted ×4: the head learns to avoid it.
        let excluded = train.labels.map { Target.notLabel(($0 + 1) % 3) }
        let complementary = HeadExamples(embeddings: train.embeddings, targets: excluded, weights: Array(repeating: 4, count: 60))
        let fresh = try Network(spec: tinySpec(labels: ["a", "b", "c"]), seed: 4)
        let feedbackTrainer = HeadTrainer(network: fresh, config: TrainingConfig(epochs: 8, batchSize: 16, learningRate: 0.1,
                                                                                 augmentation: nil, patience: nil))
        let before = feedbackTrainer.evaluate(complementary).loss
        _ = feedbackTrainer.run(train: complementary)
        let after = feedbackTrainer.evaluate(complementary)
        #expect(after.loss < before * 0.7 && after.accuracy > 0.9, "loss \(before) → \(after.loss), accuracy \(after.accuracy)")
    }

    /// Predictions of preprocessed inputs and of decoded images go through the same forward loop
    /// and agree exactly.
    @Test func predictionsOfInputsMatchPredictionsOfImages() throws {
        let spec = tinySpec(labels: ["bars-h", "bars-v", "square"])
        let network = try Network(spec: spec, seed: 6)
        let images = TrainingLoopTests.dataset(perClass: 5, seed: 12)
        let model = network.inferenceModel()
        let perImage = PreprocessSpec(spec.input).floatsPerImage
        let batch = preprocessedBatch(images, spec: spec)
        let inputs = (0..<images.count).map { Array(batch[$0 * perImage..<($0 + 1) * perImage]) }
        let fromImages = Predictions.compute(model, images: images, threads: 1, batchSize: 4, withEmbeddings: true)
        let fromInputs = Predictions.compute(model, inputs: inputs, threads: 1, batchSize: 4, withEmbeddings: true)
        #expect(fromInputs.count == images.count)
        #expect(fromInputs.probabilities == fromImages.probabilities && fromInputs.embeddings == fromImages.embeddings)
    }
}

/// The preprocessed NCHW tensor of a whole image set, in dataset order.
func preprocessedBatch(_ images: DecodedImages, spec: ModelSpec) -> [Float] {
    let preprocess = PreprocessSpec(spec.input)
    let loader = BatchLoader(images: images, spec: preprocess, batchSize: images.count)
    var out: [Float] = []
    loader.forEachBatch(epoch: 0, shuffle: false) {
        out = Array(UnsafeBufferPointer(start: $0.input, count: images.count * preprocess.floatsPerImage))
    }
    return out
}
