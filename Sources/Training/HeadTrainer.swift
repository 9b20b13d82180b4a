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

    /// Trains the head on cached embeddings; returns history with validation on the val embeddings.
    public func run(trainEmbeddings: [Float], trainLabels: [Int], valEmbeddings: [Float], valLabels: [Int],
                    progress: (TrainingProgress) -> Void = { _ in }) -> TrainingResult {
        network.freezeBackbone()
        let e = network.embeddingSize, n = trainLabels.count
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
        for epoch in 1...max(config.epochs, 1) {
            let t0 = now()
            var rng = SeededGenerator(seed: config.seed &+ UInt64(epoch))
            let order = Array(0..<n).shuffled(using: &rng)
            var lossSum = 0.0, correct = 0
            for s in 0..<steps {
                let indices = order[(s * config.batchSize)..<min(n, (s + 1) * config.batchSize)]
                for (slot, i) in indices.enumerated() {
                    for j in 0..<e { batch[slot * e + j] = trainEmbeddings[i * e + j] }
                }
                let result = batch.withUnsafeBufferPointer {
                    network.headStep(embeddings: $0.baseAddress!, targets: indices.map { .label(trainLabels[$0]) },
                                     optimizer: optimizer, labelSmoothing: config.labelSmoothing)
                }
                lossSum += Double(result.loss) * Double(indices.count)
                correct += result.correct
            }
            var record = EpochRecord(epoch: epoch, trainLoss: lossSum / Double(max(n, 1)),
                                     trainAccuracy: Double(correct) / Double(max(n, 1)),
                                     learningRate: Double(optimizer.currentLearningRate), seconds: 0)
            var score = Double(epoch)
            if !valLabels.isEmpty {
                let (loss, accuracy) = evaluate(valEmbeddings, labels: valLabels)
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
            if let patience = config.patience, !valLabels.isEmpty, epoch - best.epoch >= patience { break }
        }
        best.weights.withUnsafeBufferPointer {
            (network.parameters.values.pointer + headOffset).update(from: $0.baseAddress!, count: $0.count)
        }
        return TrainingResult(history: history, bestEpoch: best.epoch,
                              bestValidationAccuracy: valLabels.isEmpty ? .nan : best.accuracy, stoppedEarly: false,
                              computeSeconds: now(), validationSeconds: 0, loaderWaitSeconds: 0, loaderPreparationSeconds: 0)
    }

    /// Loss and accuracy of the head on embeddings [N, E].
    public func evaluate(_ embeddings: [Float], labels: [Int]) -> (loss: Double, accuracy: Double) {
        let k = network.classCount, e = network.embeddingSize
        var loss = 0.0, correct = 0
        let chunk = 256
        embeddings.withUnsafeBufferPointer { all in
            var i0 = 0
            while i0 < labels.count {
                let n = min(chunk, labels.count - i0)
                let logits = network.headLogits(embeddings: all.baseAddress! + i0 * e, batch: n)
                let result = ClassificationLoss.evaluate(logits: logits, classes: k,
                                                         targets: labels[i0..<(i0 + n)].map { .label($0) })
                loss += Double(result.loss) * Double(n)
                correct += result.correct
                i0 += n
            }
        }
        return (loss / Double(max(labels.count, 1)), Double(correct) / Double(max(labels.count, 1)))
    }
}
