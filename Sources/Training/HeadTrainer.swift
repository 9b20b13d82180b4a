import Dispatch
import NeuralNet
import Reports
import Tensor

/// Transfer learning's first stage: embed every image once with the frozen backbone, then train
/// only the classifier head on the cached embeddings — seconds instead of hours.
public final class HeadTrainer {
    public let network: Network
    public let config: TrainingConfig

    public init(network: Network, config: TrainingConfig) {
        self.network = network
        self.config = config
    }

    /// Embeddings [N, E] of `images` through the frozen backbone (evaluation mode).
    public static func embed(_ network: Network, images: DecodedImages, threads: Int) -> [Float] {
        Predictions.compute(network.inferenceModel(), images: images, threads: threads, withEmbeddings: true).embeddings
    }

    /// Trains the head on cached embeddings. With a validation set, the epoch that scored best on
    /// it is kept (and `patience` may stop early); without one, the last epoch's weights are.
    /// The one head trainer: transfer learning (labels, validation) and feedback retrains
    /// (complementary "not L" targets, boundary weights) both come here.
    public func run(train: HeadExamples, validation: HeadExamples? = nil,
                    progress: (TrainingProgress) -> Void = { _ in }) -> TrainingResult {
        network.freezeBackbone()
        let e = network.embeddingSize, n = train.count
        precondition(train.embeddings.count == n * e && (validation.map { $0.embeddings.count == $0.count * e } ?? true),
                     "one embedding of the backbone's size per example")
        let validation = validation.flatMap { $0.count > 0 ? $0 : nil }
        let steps = (n + config.batchSize - 1) / config.batchSize
        let optimizer = Optimizer(config: OptimizerConfig(
            kind: config.optimizer, learningRate: config.learningRate, weightDecay: config.weightDecay,
            schedule: config.cosineSchedule ? .cosine(totalSteps: steps * config.epochs) : .constant,
            gradientClipNorm: config.gradientClipNorm), parameters: network.parameters)
        var batch = [Float](repeating: 0, count: config.batchSize * e)
        var history: [EpochRecord] = []
        var best: (epoch: Int, accuracy: Double, weights: [Float]) = (0, -1, [])
        let start = DispatchTime.now().uptimeNanoseconds
        func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        let headOffset = network.trainableParameterOffset
        // One generator for the whole run, drawn once per epoch: the order feedback retrains have
        // always used. Their gate verdicts are sensitive to it (the poisoning test's honest
        // rounds are refused under another order), so unifying the trainers kept it.
        var rng = SeededGenerator(seed: config.seed)
        for epoch in 1...max(config.epochs, 1) where n > 0 {
            let t0 = now()
            let order = Array(0..<n).shuffled(using: &rng)
            var lossSum = 0.0, correct = 0
            for s in 0..<steps {
                let indices = order[(s * config.batchSize)..<min(n, (s + 1) * config.batchSize)]
                for (slot, i) in indices.enumerated() {
                    for j in 0..<e { batch[slot * e + j] = train.embeddings[i * e + j] }
                }
                let result = batch.withUnsafeBufferPointer {
                    network.headStep(embeddings: $0.baseAddress!, targets: indices.map { train.targets[$0] },
                                     weights: train.weights.map { weights in indices.map { weights[$0] } },
                                     optimizer: optimizer, labelSmoothing: config.labelSmoothing)
                }
                lossSum += Double(result.loss) * Double(indices.count)
                correct += result.correct
            }
            var record = EpochRecord(epoch: epoch, trainLoss: lossSum / Double(n), trainAccuracy: Double(correct) / Double(n),
                                     learningRate: Double(optimizer.currentLearningRate), seconds: 0)
            var score = Double(epoch)
            if let validation {
                let (loss, accuracy) = evaluate(validation)
                record.valLoss = loss
                record.valAccuracy = accuracy
                score = accuracy
            }
            record.seconds = now() - t0
            history.append(record)
            if score > best.accuracy {
                best = (epoch, score, Array(UnsafeBufferPointer(start: network.parameters.values.pointer + headOffset,
                                                                count: network.parameters.parameterCount - headOffset)))
            }
            progress(TrainingProgress(epoch: epoch, epochs: config.epochs, step: steps, stepsPerEpoch: steps,
                                      runningLoss: record.trainLoss, runningAccuracy: record.trainAccuracy,
                                      elapsed: now(), finished: record))
            if let patience = config.patience, validation != nil, epoch - best.epoch >= patience { break }
        }
        best.weights.withUnsafeBufferPointer {
            guard let base = $0.baseAddress else { return }
            (network.parameters.values.pointer + headOffset).update(from: base, count: $0.count)
        }
        return TrainingResult(history: history, bestEpoch: best.epoch,
                              bestValidationAccuracy: validation == nil ? .nan : best.accuracy, stoppedEarly: false,
                              computeSeconds: now(), validationSeconds: 0, loaderWaitSeconds: 0, loaderPreparationSeconds: 0)
    }

    /// Mean loss and accuracy of the head on `examples` (for "not L", right when anything but L).
    public func evaluate(_ examples: HeadExamples) -> (loss: Double, accuracy: Double) {
        let e = network.embeddingSize
        var loss = 0.0, correct = 0
        let chunk = 256
        examples.embeddings.withUnsafeBufferPointer { all in
            var i0 = 0
            while i0 < examples.count {
                let n = min(chunk, examples.count - i0)
                let logits = network.headLogits(embeddings: all.baseAddress! + i0 * e, batch: n)
                let result = ClassificationLoss.evaluate(logits: logits, heads: network.spec.outputHeads,
                                                         targets: Array(examples.targets[i0..<(i0 + n)]))
                loss += Double(result.loss) * Double(n)
                correct += result.correct
                i0 += n
            }
        }
        return (loss / Double(max(examples.count, 1)), Double(correct) / Double(max(examples.count, 1)))
    }
}

/// What the head trains or is judged on: embeddings [N, E] from the frozen backbone, what each
/// should be, and optionally how much each counts (a weight of U is the example repeated U times).
public struct HeadExamples: Sendable {
    public var embeddings: [Float]
    public var targets: [Target]
    public var weights: [Float]?

    public var count: Int { targets.count }

    public init(embeddings: [Float], targets: [Target], weights: [Float]? = nil) {
        precondition(weights.map { $0.count == targets.count } ?? true, "one weight per example")
        self.embeddings = embeddings
        self.targets = targets
        self.weights = weights
    }

    /// Examples whose targets are true labels.
    public init(embeddings: [Float], labels: [Int]) {
        self.init(embeddings: embeddings, targets: labels.map { .label($0) })
    }
}
