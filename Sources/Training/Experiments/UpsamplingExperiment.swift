import DemoData
import Foundation
import Imaging
import NeuralNet
import Tensor

/// The original study's experiment, reproducible: does upsampling the deselected (decision-
/// boundary) images help when a model is fine-tuned on lasso feedback?
///
/// For each seed: a model is trained on a small share of the demo dataset. Each round, a fresh pool
/// of images is classified, and lasso feedback is simulated from the true labels: for every label
/// L, the images the model put in L are selected, those truly L kept and the rest deselected
/// ("not L"); with corrections simulated, a share of the deselected images also carries its true
/// label, as a reviewer who knows it would give. The model is then fine-tuned on all feedback so
/// far (plus an equal amount of its base data, replayed) under each condition — head-only or full,
/// boundary samples weighted ×1 or ×U, deselections alone or with corrections —
/// and scored on the test split and on its boundary subset (images morphed toward their confusable
/// partner). Every condition starts each round from its own previous model.
public struct UpsamplingExperiment {
    public struct Settings: Sendable {
        public var seeds = 5
        public var rounds = 3
        public var baseImagesPerClass = 30
        public var poolPerRound = 300
        public var testImages = 1000
        public var upsampling: Float = 4
        public var imageSize = 32
        public var overlap = 0.5
        public var headEpochs = 30
        public var fullEpochs = 4
        public var baseEpochs = 6
        public var threads = 2
        /// Test images at least this ambiguous form the boundary set.
        public var boundaryAmbiguity = 0.2
        /// Share of deselected images the reviewer also corrects to their true label, in the
        /// "+ corrections" conditions; 0 runs deselections alone.
        public var correctionShare = 0.5
        public init() {}
    }

    public struct Condition: Hashable, Sendable, CustomStringConvertible {
        public var full: Bool
        public var upsampling: Float
        /// Whether deselected images come with corrections (`correctionShare` of them).
        public var corrections = false
        public var description: String {
            "\(full ? "full" : "head") ×\(upsampling == 1 ? "1" : String(format: "%g", upsampling))" + (corrections ? " + corrections" : "")
        }
    }

    /// Accuracy on the test split and its boundary subset, per condition and round (round 0 is the
    /// base model), one value per seed.
    public struct Results: Sendable {
        public var conditions: [Condition]
        public var test: [Condition: [[Double]]] = [:]
        public var boundary: [Condition: [[Double]]] = [:]
        public var boundaryImages = 0
    }

    public let settings: Settings

    public init(settings: Settings) { self.settings = settings }

    public var conditions: [Condition] {
        (settings.correctionShare > 0 ? [false, true] : [false]).flatMap { corrections in
            [false, true].flatMap { full in
                [Float(1), settings.upsampling].map { Condition(full: full, upsampling: $0, corrections: corrections) }
            }
        }
    }

    /// Whether the reviewer corrects the deselected pool image `index` (a fixed share, by index).
    func corrects(_ index: Int) -> Bool {
        Double((index &* 2_654_435_761) % 1000) < settings.correctionShare * 1000
    }

    public func run(log: (String) -> Void = { _ in }) throws -> Results {
        var results = Results(conditions: conditions)
        for seed in 0..<settings.seeds {
            let demo = DemoDataset(classCount: 10, imageSize: settings.imageSize, overlap: settings.overlap, seed: UInt64(seed))
            let spec = Self.spec(labels: demo.classNames, size: settings.imageSize)
            let preprocess = PreprocessSpec(spec.input)
            func inputs(_ samples: [DemoDataset.Sample], _ split: DemoDataset.Split) -> [LabelledInput] {
                samples.map { sample in
                    let image = RGBImage(width: demo.imageSize, height: demo.imageSize, pixels: demo.render(sample, split: split))!
                    var input = [Float](repeating: 0, count: preprocess.floatsPerImage)
                    input.withUnsafeMutableBufferPointer { try! Preprocessor.preprocess(image, spec: preprocess, into: $0.baseAddress!) }
                    return LabelledInput(input: input, target: .label(sample.label), isBoundary: false)
                }
            }
            let base = inputs(demo.samples(.train, count: settings.baseImagesPerClass * 10), .train)
            let testSamples = demo.samples(.test, count: settings.testImages)
            let test = inputs(testSamples, .test)
            let boundaryTest = zip(testSamples, test).filter { $0.0.ambiguity >= settings.boundaryAmbiguity }.map { $0.1 }
            results.boundaryImages = boundaryTest.count
            let baseNetwork = try Network(spec: spec, threads: settings.threads, seed: UInt64(seed))
            FineTuner.run(baseNetwork, on: base, config: FineTuneConfig(mode: .full(unfreeze: nil), epochs: settings.baseEpochs,
                                                                        learningRate: 2e-3, threads: settings.threads, seed: UInt64(seed)))
            let baseURL = FileManager.default.temporaryDirectory.appendingPathComponent("boundary-experiment-\(UUID().uuidString).safetensors")
            defer { try? FileManager.default.removeItem(at: baseURL) }
            try baseNetwork.save(to: baseURL)
            let baseModel = baseNetwork.inferenceModel()
            let pools = (0..<settings.rounds).map { round in
                (settings.baseImagesPerClass * 10 + round * settings.poolPerRound..<settings.baseImagesPerClass * 10 + (round + 1) * settings.poolPerRound)
                    .map { demo.sample(.train, index: $0) }
            }
            for condition in conditions {
                let network = try Network(contentsOf: baseURL, threads: settings.threads)
                var testRow = [FineTuner.evaluate(baseModel, on: test, threads: settings.threads).accuracy]
                var boundaryRow = [FineTuner.evaluate(baseModel, on: boundaryTest, threads: settings.threads).accuracy]
                var feedback: [LabelledInput] = []
                for round in 0..<settings.rounds {
                    let pool = inputs(pools[round], .train)
                    let predicted = FineTuner.predict(network.inferenceModel(), pool, threads: settings.threads)
                    for ((sample, label), source) in zip(zip(pool, predicted), pools[round]) {
                        guard case .label(let truth) = sample.target else { continue }
                        let target: Target = truth == label ? .label(label)
                            : condition.corrections && corrects(source.index) ? .label(truth) : .notLabel(label)
                        feedback.append(LabelledInput(input: sample.input, target: target, isBoundary: truth != label))
                    }
                    let replay = Array(base.prefix(feedback.count))
                    let config = FineTuneConfig(mode: condition.full ? .full(unfreeze: nil) : .head,
                                                epochs: condition.full ? settings.fullEpochs : settings.headEpochs,
                                                learningRate: condition.full ? 5e-4 : 5e-3, boundaryWeight: condition.upsampling,
                                                threads: settings.threads, seed: UInt64(seed * 100 + round))
                    FineTuner.run(network, on: feedback + replay, config: config)
                    let model = network.inferenceModel()
                    testRow.append(FineTuner.evaluate(model, on: test, threads: settings.threads).accuracy)
                    boundaryRow.append(FineTuner.evaluate(model, on: boundaryTest, threads: settings.threads).accuracy)
                }
                results.test[condition, default: []].append(testRow)
                results.boundary[condition, default: []].append(boundaryRow)
                log("seed \(seed) \(condition): test " + testRow.map { String(format: "%.3f", $0) }.joined(separator: " ")
                    + " | boundary " + boundaryRow.map { String(format: "%.3f", $0) }.joined(separator: " "))
            }
        }
        return results
    }

    /// A small CNN for `size`×`size` demo images: three conv stages and a linear head.
    public static func spec(labels: [String], size: Int) -> ModelSpec {
        ModelSpec(name: "experiment-cnn", input: InputSpec(height: size, width: size),
                  layers: [.conv(out: 16, kernel: 3, stride: 1, padding: 1, bias: false), .batchNorm, .relu,
                           .maxPool(kernel: 2, stride: 2, padding: 0),
                           .conv(out: 32, kernel: 3, stride: 1, padding: 1, bias: false), .batchNorm, .relu,
                           .maxPool(kernel: 2, stride: 2, padding: 0),
                           .conv(out: 64, kernel: 3, stride: 1, padding: 1, bias: false), .batchNorm, .relu,
                           .globalAvgPool, .dense(out: nil)],
                  labels: labels)
    }
}

extension UpsamplingExperiment.Results {
    /// The Markdown table: mean ± std over seeds per condition and round.
    public func markdown(rounds: Int) -> String {
        func cell(_ values: [Double]) -> String {
            let mean = values.reduce(0, +) / Double(values.count)
            let std = values.count > 1 ? (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)).squareRoot() : 0
            return String(format: "%.3f ± %.3f", mean, std)
        }
        var lines = ["| condition | metric | " + (0...rounds).map { $0 == 0 ? "base" : "round \($0)" }.joined(separator: " | ") + " |",
                     "| --- | --- | " + (0...rounds).map { _ in "---" }.joined(separator: " | ") + " |"]
        for condition in conditions {
            for (name, table) in [("test", test[condition] ?? []), ("boundary", boundary[condition] ?? [])] {
                let columns = (0...rounds).map { round in cell(table.map { $0[round] }) }
                lines.append("| \(condition) | \(name) | " + columns.joined(separator: " | ") + " |")
            }
        }
        return lines.joined(separator: "\n")
    }
}
