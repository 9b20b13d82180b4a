import Foundation
import Imaging
import NeuralNet
import Tensor
import Testing
@testable import Training

@Suite struct TrainingLoopTests {
    static func dataset(perClass: Int, seed: UInt64) -> DecodedImages {
        var images = DecodedImages()
        for i in 0..<perClass {
            for label in 0..<3 {
                images.images.append(patternImage(label: label, size: 16, seed: seed &+ UInt64(i * 3 + label)))
                images.labels.append(label)
                images.paths.append("\(label)/\(i)")
            }
        }
        return images
    }

    @Test func trainingImprovesValidationAccuracyAndKeepsTheBestEpoch() throws {
        let labels = ["bars-h", "bars-v", "square"]
        let network = try Network(spec: tinySpec(labels: labels), threads: 2, seed: 3)
        let train = Self.dataset(perClass: 24, seed: 100), validation = Self.dataset(perClass: 10, seed: 9_000)
        let before = Predictions.compute(network.inferenceModel(), images: validation, threads: 2)
            .lossAndAccuracy(labels: validation.labels).accuracy
        let config = TrainingConfig(epochs: 6, batchSize: 12, learningRate: 1e-2, augmentation: nil, patience: nil, seed: 1)
        let result = try ClassifierTrainer(network: network, config: config).run(train: train, validation: validation)
        let accuracies = result.history.map { $0.valAccuracy! }
        #expect(result.history.count == 6)
        #expect(result.bestValidationAccuracy >= 0.8, "val accuracies \(accuracies), before \(before)")
        #expect(result.bestValidationAccuracy > before + 0.3)
        // The best epoch is the first with the highest validation accuracy, and the network now
        // holds exactly its weights.
        let best = accuracies.max()!
        #expect(result.bestEpoch == accuracies.firstIndex(of: best)! + 1)
        let after = Predictions.compute(network.inferenceModel(), images: validation, threads: 2)
            .lossAndAccuracy(labels: validation.labels).accuracy
        #expect(after == best)
    }

    @Test func earlyStoppingStopsAfterPatienceEpochsWithoutImprovement() throws {
        let labels = ["bars-h", "bars-v", "square"]
        let network = try Network(spec: tinySpec(labels: labels), seed: 4)
        // With a zero learning rate only the BatchNorm running statistics move, so validation
        // accuracy plateaus within a few epochs and patience 2 must stop the run well before 12.
        let config = TrainingConfig(epochs: 12, batchSize: 16, learningRate: 0, augmentation: nil, patience: 2, seed: 1)
        let result = try ClassifierTrainer(network: network, config: config)
            .run(train: Self.dataset(perClass: 4, seed: 1), validation: Self.dataset(perClass: 3, seed: 2))
        let accuracies = result.history.map { $0.valAccuracy! }
        #expect(result.stoppedEarly)
        #expect(result.history.count == result.bestEpoch + 2, "\(accuracies)")
        #expect(accuracies.dropFirst(result.bestEpoch).allSatisfy { $0 <= accuracies[result.bestEpoch - 1] })
    }

    @Test func augmentedBatchesAreReproducible() {
        let images = Self.dataset(perClass: 3, seed: 5)
        let spec = PreprocessSpec(tinySpec(labels: ["a", "b", "c"]).input)
        func firstBatch() -> [Float] {
            let loader = BatchLoader(images: images, spec: spec, batchSize: 4, augmentation: AugmentationSpec(), seed: 11)
            var copy: [Float] = []
            loader.forEachBatch(epoch: 2, shuffle: true) { batch in
                if copy.isEmpty { copy = Array(UnsafeBufferPointer(start: batch.input, count: 4 * spec.floatsPerImage)) }
            }
            return copy
        }
        #expect(firstBatch() == firstBatch())
    }
}
