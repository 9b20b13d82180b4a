import Dispatch
import Foundation
import Imaging
import NeuralNet
import Reports
import SafeTensors
import Tensor

/// How to train a classifier from decoded images.
public struct TrainingConfig: Sendable {
    public var epochs: Int
    public var batchSize: Int
    public var optimizer: OptimizerKind
    public var learningRate: Float
    public var weightDecay: Float
    /// Cosine decay with one epoch of warm-up, or a constant rate.
    public var cosineSchedule: Bool
    public var gradientClipNorm: Float?
    public var labelSmoothing: Float
    public var augmentation: AugmentationSpec?
    /// Stop after this many epochs without a better validation accuracy.
    public var patience: Int?
    public var seed: UInt64
    public var threads: Int

    public init(epochs: Int = 10, batchSize: Int = 32, optimizer: OptimizerKind = .adamW(), learningRate: Float = 2e-3,
                weightDecay: Float = 1e-4, cosineSchedule: Bool = true, gradientClipNorm: Float? = 5,
                labelSmoothing: Float = 0, augmentation: AugmentationSpec? = AugmentationSpec(),
                patience: Int? = 5, seed: UInt64 = 0, threads: Int = 2) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.optimizer = optimizer
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.cosineSchedule = cosineSchedule
        self.gradientClipNorm = gradientClipNorm
        self.labelSmoothing = labelSmoothing
        self.augmentation = augmentation
        self.patience = patience
        self.seed = seed
        self.threads = threads
    }
}

/// What the trainer reports while it runs (the CLI draws a progress bar from it).
public struct TrainingProgress: Sendable {
    public var epoch: Int
    public var epochs: Int
    public var step: Int
    public var stepsPerEpoch: Int
    public var runningLoss: Double
    public var runningAccuracy: Double
    public var elapsed: Double
    /// Set once per epoch, after validation.
    public var finished: EpochRecord?
}

public struct TrainingResult: Sendable {
    public var history: [EpochRecord]
    public var bestEpoch: Int
    public var bestValidationAccuracy: Double
    public var stoppedEarly: Bool
    /// Seconds inside the CNN: training steps (forward, backward, update) and validation inference.
    public var computeSeconds: Double
    public var validationSeconds: Double
    public var loaderWaitSeconds: Double
    public var loaderPreparationSeconds: Double
}

/// The classic training loop: shuffled augmented batches, per-epoch validation, the best checkpoint
/// by validation accuracy kept (and restored into the network at the end), early stopping.
public final class ClassifierTrainer {
    public let network: Network
    public let config: TrainingConfig

    public init(network: Network, config: TrainingConfig) {
        self.network = network
        self.config = config
    }

    public func run(train: DecodedImages, validation: DecodedImages,
                    progress: (TrainingProgress) -> Void = { _ in }) throws -> TrainingResult {
        precondition(train.count > 0, "no training images")
        let spec = PreprocessSpec(network.spec.input)
        let loader = BatchLoader(images: train, spec: spec, batchSize: config.batchSize,
                                 augmentation: config.augmentation, seed: config.seed)
        let steps = loader.batchCount()
        let heads = network.spec.outputHeads
        precondition(!network.spec.isMultiHead || train.headLabels.count == train.count,
                     "a multi-head model trains on images labelled per head")
        let schedule: LearningRateSchedule = config.cosineSchedule
            ? .cosine(totalSteps: steps * config.epochs, warmupSteps: min(steps, 100), minimumFactor: 0.01) : .constant
        let trainer = Trainer(network: network, optimizer: OptimizerConfig(
            kind: config.optimizer, learningRate: config.learningRate, weightDecay: config.weightDecay,
            schedule: schedule, gradientClipNorm: config.gradientClipNorm), labelSmoothing: config.labelSmoothing)
        var history: [EpochRecord] = []
        var best: (epoch: Int, accuracy: Double, archive: SafeTensorsArchive?) = (0, -1, nil)
        var compute = 0.0, validationTime = 0.0
        let start = DispatchTime.now().uptimeNanoseconds
        func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        var stoppedEarly = false
        for epoch in 1...max(config.epochs, 1) {
            let epochStart = now()
            var lossSum = 0.0, seen = 0, step = 0
            var tally = HeadTally(heads: heads.count)
            try loader.forEachBatch(epoch: epoch, shuffle: true) { batch in
                let t0 = now()
                // A single-head model is a multi-head one with one head: the same loss, one path.
                let result = trainer.step(batch.input, headTargets: loader.headTargets(batch, heads: heads.count))
                compute += now() - t0
                guard result.loss.isFinite else { throw TrainingError.diverged(epoch: epoch, step: step) }
                lossSum += Double(result.loss) * Double(batch.count)
                tally.add(result)
                seen += batch.count
                step += 1
                progress(TrainingProgress(epoch: epoch, epochs: config.epochs, step: step, stepsPerEpoch: steps,
                                          runningLoss: lossSum / Double(seen),
                                          runningAccuracy: tally.meanAccuracy, elapsed: now(), finished: nil))
            }
            var record = EpochRecord(epoch: epoch, trainLoss: lossSum / Double(max(seen, 1)),
                                     trainAccuracy: tally.meanAccuracy,
                                     learningRate: Double(trainer.optimizer.currentLearningRate), seconds: 0)
            // Without validation images the latest epoch counts as the best.
            var score = Double(epoch)
            if validation.count > 0 {
                let v0 = now()
                defer { validationTime += now() - v0 }
                let predictions = Predictions.compute(network.inferenceModel(), images: validation, threads: config.threads)
                let scores = predictions.headScores((0..<heads.count).map(validation.labels(forHead:)), heads: heads)
                // Multi-head: the heads' losses add up (as in training) and the kept epoch is the
                // one with the best mean accuracy over heads.
                record.valLoss = scores.map(\.loss).reduce(0, +)
                record.valAccuracy = scores.map(\.accuracy).reduce(0, +) / Double(scores.count)
                score = record.valAccuracy!
            }
            record.seconds = now() - epochStart
            history.append(record)
            if score > best.accuracy {
                best = (epoch, score, try network.archive())
            }
            progress(TrainingProgress(epoch: epoch, epochs: config.epochs, step: steps, stepsPerEpoch: steps,
                                      runningLoss: record.trainLoss, runningAccuracy: record.trainAccuracy,
                                      elapsed: now(), finished: record))
            if let patience = config.patience, validation.count > 0, epoch - best.epoch >= patience, epoch < config.epochs {
                stoppedEarly = true
                break
            }
        }
        if let archive = best.archive { try network.load(archive) }
        return TrainingResult(history: history, bestEpoch: best.epoch,
                              bestValidationAccuracy: validation.count > 0 ? best.accuracy : .nan,
                              stoppedEarly: stoppedEarly, computeSeconds: compute, validationSeconds: validationTime,
                              loaderWaitSeconds: loader.waitSeconds, loaderPreparationSeconds: loader.preparationSeconds)
    }
}

/// Running per-head accuracy over an epoch's steps.
struct HeadTally {
    var correct: [Int]
    var labelled: [Int]

    init(heads: Int) {
        correct = Array(repeating: 0, count: heads)
        labelled = Array(repeating: 0, count: heads)
    }

    mutating func add(_ result: MultiHeadLoss.Result) {
        for h in correct.indices {
            correct[h] += result.correct[h]
            labelled[h] += result.labelled[h]
        }
    }

    /// The mean over heads of each head's accuracy (a head nothing was labelled for counts 0).
    var meanAccuracy: Double {
        let rates = zip(correct, labelled).map { $1 == 0 ? 0 : Double($0) / Double($1) }
        return rates.reduce(0, +) / Double(max(rates.count, 1))
    }
}

public enum TrainingError: Error, CustomStringConvertible {
    case diverged(epoch: Int, step: Int)

    public var description: String {
        switch self {
        case .diverged(let epoch, let step):
            "training diverged (non-finite loss) at epoch \(epoch), step \(step): lower the learning rate or enable gradient clipping"
        }
    }
}
