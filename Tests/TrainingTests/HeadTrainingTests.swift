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
