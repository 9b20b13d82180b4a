import Foundation
import NeuralNet
import Tensor

/// One preprocessed image with what a reviewer (or the base data) says about it.
public struct LabelledInput: Sendable {
    /// [C, H, W] in the model's input layout and normalisation.
    public var input: [Float]
    /// `.label(k)` for kept, corrected and replayed images; `.notLabel(k)` for deselected ones.
    public var target: Target
    /// Deselected or corrected: the sample sits on the decision boundary.
    public var isBoundary: Bool

    public init(input: [Float], target: Target, isBoundary: Bool) {
        self.input = input
        self.target = target
        self.isBoundary = isBoundary
    }
}

/// How a retrain fine-tunes a served model.
public struct FineTuneConfig: Sendable {
    public enum Mode: Sendable, Equatable {
        /// Only the final layer, on embeddings computed once by the frozen backbone: seconds.
        case head
        /// The whole network (or only its last `unfreeze` stages and the head), with random
        /// horizontal flips as augmentation.
        case full(unfreeze: Int?)
    }

    public var mode: Mode
    public var epochs: Int
    public var learningRate: Float
    /// Weight of boundary samples relative to the rest: the study's upsampling factor ×U. A
    /// weight of U in the loss is exactly the sample repeated U times.
    public var boundaryWeight: Float
    public var batchSize: Int
    public var threads: Int
    public var seed: UInt64

    public init(mode: Mode = .head, epochs: Int = 10, learningRate: Float? = nil, boundaryWeight: Float = 4,
                batchSize: Int = 32, threads: Int = 1, seed: UInt64 = 0) {
        self.mode = mode
        self.epochs = epochs
        self.learningRate = learningRate ?? (mode == .head ? 1e-2 : 3e-4)
        self.boundaryWeight = boundaryWeight
        self.batchSize = batchSize
        self.threads = threads
        self.seed = seed
    }
}

/// Accuracy of a model on labelled inputs: overall, on the boundary samples, and per class (for
/// `.notLabel(k)` a prediction is right when it is anything but k).
public struct FineTuneEvaluation: Sendable, Equatable {
    public var accuracy: Double
    public var boundaryAccuracy: Double
    public var samples: Int
    public var boundarySamples: Int
    /// Accuracy per class, over the samples whose target names it.
    public var perClass: [Int: Double]
}

/// Fine-tunes a network on labelled inputs (feedback plus replay). Separate from
/// `ClassifierTrainer` because feedback carries complementary labels and per-sample weights,
/// and the inputs are already preprocessed tensors rather than decoded images.
public enum FineTuner {
    /// Trains `network` in place; `progress(epoch, loss, accuracy)` after each epoch.
    public static func run(_ network: Network, on samples: [LabelledInput], config: FineTuneConfig,
                           progress: (_ epoch: Int, _ loss: Double, _ accuracy: Double) -> Void = { _, _, _ in }) {
        guard !samples.isEmpty else { return }
        var generator = SeededGenerator(seed: config.seed)
        let optimizer = OptimizerConfig(kind: .adamW(), learningRate: config.learningRate, weightDecay: 1e-4)
        let weights = samples.map { $0.isBoundary ? config.boundaryWeight : 1 }
        switch config.mode {
        case .head:
            runHead(network, embeddings: embed(network, samples, threads: config.threads), samples: samples,
                    config: config, progress: progress)
            return
        case .full(let unfreeze):
            if let unfreeze { network.freezeAllBut(lastBlocks: unfreeze) } else { network.freeze(upTo: 0) }
            let trainer = Trainer(network: network, optimizer: optimizer)
            let shape = network.spec.input
            let perImage = shape.channels * shape.height * shape.width
            epochs(samples, config: config, generator: &generator, progress: progress) { batch, generator in
                var input = [Float](repeating: 0, count: batch.count * perImage)
                for (row, index) in batch.enumerated() {
                    let flip = generator.nextUnit() < 0.5
                    copy(samples[index].input, into: &input, at: row * perImage, width: shape.width, flip: flip)
                }
                return input.withUnsafeBufferPointer {
                    trainer.step($0.baseAddress!, targets: batch.map { samples[$0].target }, weights: batch.map { weights[$0] })
                }
            }
        }
        network.freeze(upTo: 0)
    }

    /// Head-only training on precomputed embeddings [N, E] of `samples` (from the network's own
    /// backbone, e.g. cached when the images were predicted). Leaves the backbone frozen state as
    /// it found it: everything trainable again.
    public static func runHead(_ network: Network, embeddings: [Float], samples: [LabelledInput], config: FineTuneConfig,
                               progress: (_ epoch: Int, _ loss: Double, _ accuracy: Double) -> Void = { _, _, _ in }) {
        guard !samples.isEmpty else { return }
        defer { network.freeze(upTo: 0) }
        let trainer = HeadTrainer(network: network, config: TrainingConfig(
            epochs: config.epochs, batchSize: config.batchSize, optimizer: .adamW(), learningRate: config.learningRate,
            weightDecay: 1e-4, cosineSchedule: false, gradientClipNorm: nil, labelSmoothing: 0, patience: nil,
            seed: config.seed, threads: config.threads))
        let examples = HeadExamples(embeddings: embeddings, targets: samples.map(\.target),
                                    weights: samples.map { $0.isBoundary ? config.boundaryWeight : 1 })
        _ = trainer.run(train: examples) { update in
            if let epoch = update.finished { progress(epoch.epoch, epoch.trainLoss, epoch.trainAccuracy) }
        }
    }

    /// The full fine-tune's epoch loop: shuffle, step through mini-batches of sample indices,
    /// report the epoch's mean loss and accuracy. (Head-only training is `HeadTrainer`'s.)
    static func epochs(_ samples: [LabelledInput], config: FineTuneConfig, generator: inout SeededGenerator,
                       progress: (_ epoch: Int, _ loss: Double, _ accuracy: Double) -> Void,
                       step: (_ batch: [Int], _ generator: inout SeededGenerator) -> ClassificationLoss.Result) {
        for epoch in 1...config.epochs {
            var order = Array(samples.indices)
            order.shuffle(using: &generator)
            var loss = 0.0, correct = 0
            for start in stride(from: 0, to: order.count, by: config.batchSize) {
                let batch = Array(order[start..<min(start + config.batchSize, order.count)])
                let result = step(batch, &generator)
                loss += Double(result.loss) * Double(batch.count)
                correct += result.correct
            }
            progress(epoch, loss / Double(samples.count), Double(correct) / Double(samples.count))
        }
    }

    /// Evaluates the network's head alone on precomputed embeddings [N, E] of `samples`: what the
    /// whole network would score when the backbone that produced them is the network's own.
    public static func evaluateHead(_ network: Network, embeddings: [Float], on samples: [LabelledInput]) -> FineTuneEvaluation {
        score(predictHead(network, embeddings: embeddings, samples: samples), samples)
    }

    /// Evaluates an inference model on `samples`.
    public static func evaluate(_ model: InferenceModel, on samples: [LabelledInput], threads: Int) -> FineTuneEvaluation {
        score(predict(model, samples, threads: threads), samples)
    }

    /// Softmax probabilities [N, classes] of the network's head on embeddings [N, E].
    public static func headProbabilities(_ network: Network, embeddings: [Float], count: Int) -> [Float] {
        let size = network.embeddingSize, classes = network.classCount
        var probabilities = [Float](repeating: 0, count: count * classes)
        for start in stride(from: 0, to: count, by: 256) {
            let rows = min(256, count - start)
            let logits = embeddings.withUnsafeBufferPointer {
                network.headLogits(embeddings: $0.baseAddress! + start * size, batch: rows)
            }
            probabilities.withUnsafeMutableBufferPointer { p in
                let rowsStart = p.baseAddress! + start * classes
                rowsStart.update(from: logits, count: rows * classes)
                Softmax.heads(rowsStart, rows: rows, heads: network.spec.outputHeads)
            }
        }
        return probabilities
    }

    /// The head's top class for each of `samples`' embeddings [N, E] (within the head its target
    /// names, for a multi-head model).
    public static func predictHead(_ network: Network, embeddings: [Float], samples: [LabelledInput]) -> [Int] {
        let probabilities = headProbabilities(network, embeddings: embeddings, count: samples.count)
        let predictions = Predictions(classCount: network.classCount, probabilities: probabilities, embeddings: [], embeddingSize: 0)
        return predicted(predictions, samples, heads: network.spec.outputHeads)
    }

    /// The model's top class for each sample (within the head its target names).
    public static func predict(_ model: InferenceModel, _ samples: [LabelledInput], threads: Int) -> [Int] {
        predicted(Predictions.compute(model, inputs: samples.map(\.input), threads: threads), samples, heads: model.heads)
    }

    /// Each sample's arg-max over the head its target names, as an index into the whole label list.
    static func predicted(_ predictions: Predictions, _ samples: [LabelledInput], heads: [OutputHead]) -> [Int] {
        samples.indices.map { i in
            let head = heads.head(containing: samples[i].target.index)
            return head.offset + predictions.predictedLabel(i, head: head)
        }
    }

    /// Whether each prediction satisfies its sample's target (for `.notLabel(k)`: anything but k).
    public static func correct(_ predicted: [Int], _ samples: [LabelledInput]) -> [Bool] {
        zip(predicted, samples).map { label, sample in
            switch sample.target {
            case .label(let k): label == k
            case .notLabel(let k): label != k
            }
        }
    }

    /// Accuracy of `predicted` labels against the samples' targets.
    public static func score(_ predicted: [Int], _ samples: [LabelledInput]) -> FineTuneEvaluation {
        var correct = 0, boundaryCorrect = 0, boundaryTotal = 0
        var classCorrect: [Int: Int] = [:], classTotal: [Int: Int] = [:]
        for (label, sample) in zip(predicted, samples) {
            let (right, named): (Bool, Int) = switch sample.target {
            case .label(let k): (label == k, k)
            case .notLabel(let k): (label != k, k)
            }
            if right { correct += 1 }
            classTotal[named, default: 0] += 1
            if right { classCorrect[named, default: 0] += 1 }
            if sample.isBoundary {
                boundaryTotal += 1
                if right { boundaryCorrect += 1 }
            }
        }
        func ratio(_ a: Int, _ b: Int) -> Double { b == 0 ? 0 : Double(a) / Double(b) }
        return FineTuneEvaluation(
            accuracy: ratio(correct, samples.count), boundaryAccuracy: ratio(boundaryCorrect, boundaryTotal),
            samples: samples.count, boundarySamples: boundaryTotal,
            perClass: Dictionary(uniqueKeysWithValues: classTotal.map { ($0.key, ratio(classCorrect[$0.key] ?? 0, $0.value)) }))
    }

    /// Embeddings [N, E] of `samples` through the network folded for inference (frozen backbone).
    public static func embed(_ network: Network, _ samples: [LabelledInput], threads: Int) -> [Float] {
        embed(network.inferenceModel(), samples, threads: threads)
    }

    /// Embeddings [N, E] of `samples` through `model`.
    public static func embed(_ model: InferenceModel, _ samples: [LabelledInput], threads: Int) -> [Float] {
        Predictions.compute(model, inputs: samples.map(\.input), threads: threads, withEmbeddings: true).embeddings
    }

    /// Copies one [C, H, W] image into a batch, mirrored left-right when `flip`.
    static func copy(_ image: [Float], into batch: inout [Float], at offset: Int, width: Int, flip: Bool) {
        guard flip else {
            batch.replaceSubrange(offset..<offset + image.count, with: image)
            return
        }
        let rows = image.count / width
        for row in 0..<rows {
            for x in 0..<width { batch[offset + row * width + x] = image[row * width + width - 1 - x] }
        }
    }
}
