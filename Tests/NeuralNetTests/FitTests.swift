import Foundation
import Testing
@testable import NeuralNet
import Tensor

/// End-to-end: a tiny CNN learns a small synthetic image set.
@Suite struct FitTests {
    static let side = 12

    /// One 12×12 image of `label` with a random phase/position and Gaussian noise:
    /// 0 horizontal stripes, 1 vertical stripes, 2 diagonal stripes, 3 a bright 4×4 square.
    static func image(label: Int, rng: inout SeededGenerator) -> [Float] {
        let s = side
        let phase = Int(rng.next() % 4)
        let (sy, sx) = (Int(rng.next() % UInt64(s - 4)), Int(rng.next() % UInt64(s - 4)))
        var pixels = [Float](repeating: 0, count: s * s)
        for y in 0..<s {
            for x in 0..<s {
                let on: Bool
                switch label {
                case 0: on = (y + phase) % 4 < 2
                case 1: on = (x + phase) % 4 < 2
                case 2: on = (x + y + phase) % 4 < 2
                default: on = y >= sy && y < sy + 4 && x >= sx && x < sx + 4
                }
                pixels[y * s + x] = (on ? 1 : 0) + 0.3 * rng.nextNormal()
            }
        }
        return pixels
    }

    static func dataset(count: Int, seed: UInt64) -> (images: [[Float]], labels: [Int]) {
        var rng = SeededGenerator(seed: seed)
        let labels = (0..<count).map { $0 % 4 }
        return (labels.map { image(label: $0, rng: &rng) }, labels)
    }

    static func spec() -> ModelSpec {
        ModelSpec(name: "tiny", input: InputSpec(channels: 1, height: side, width: side, mean: [0.5], std: [0.5]),
                  layers: [.conv(out: 8, kernel: 3, stride: 1, padding: 1, bias: false), .batchNorm, .relu,
                           .maxPool(kernel: 2, stride: 2, padding: 0),
                           .conv(out: 16, kernel: 3, stride: 1, padding: 1, bias: false), .batchNorm, .relu,
                           .globalAvgPool, .dense(out: nil)],
                  labels: ["horizontal", "vertical", "diagonal", "square"])
    }

    static func accuracy(_ network: Network, _ data: (images: [[Float]], labels: [Int])) -> Double {
        let x = data.images.flatMap { $0 }
        let logits = network.logits(x, batch: data.labels.count, training: false)
        let k = network.classCount
        var correct = 0
        for (i, label) in data.labels.enumerated() {
            let row = logits[(i * k)..<((i + 1) * k)]
            if row.firstIndex(of: row.max()!)! - i * k == label { correct += 1 }
        }
        return Double(correct) / Double(data.labels.count)
    }

    @Test func tinyNetworkFitsSyntheticImages() throws {
        let train = Self.dataset(count: 96, seed: 1)
        let network = try Network(spec: Self.spec(), threads: 1, seed: 7)
        let before = Self.accuracy(network, train)
        let optimizer = Optimizer(config: OptimizerConfig(kind: .adamW(), learningRate: 0.01, weightDecay: 1e-4,
                                                          schedule: .cosine(totalSteps: 96, warmupSteps: 6, minimumFactor: 0.1)),
                                  parameters: network.parameters)
        var rng = SeededGenerator(seed: 3)
        let batch = 16, k = network.classCount
        var firstEpochLoss = 0.0, lastEpochLoss = 0.0
        for epoch in 0..<16 {
            var order = Array(train.labels.indices)
            order.shuffle(using: &rng)
            var epochLoss = 0.0
            for start in stride(from: 0, to: order.count, by: batch) {
                let indices = order[start..<min(start + batch, order.count)]
                let x = indices.flatMap { train.images[$0] }
                let targets = indices.map { Target.label(train.labels[$0]) }
                let logits = network.forward(x, batch: indices.count, training: true)
                var gradient = [Float](repeating: 0, count: indices.count * k)
                let result = gradient.withUnsafeMutableBufferPointer {
                    ClassificationLoss.evaluate(logits: logits, classes: k, targets: targets, gradient: $0.baseAddress!)
                }
                #expect(result.loss.isFinite)
                epochLoss += Double(result.loss) / Double(order.count / batch)
                network.parameters.gradients.fill(0)
                network.backward(gradient)
                optimizer.update(network.parameters, trainableOffset: network.trainableParameterOffset)
            }
            if epoch == 0 { firstEpochLoss = epochLoss }
            lastEpochLoss = epochLoss
        }
        let after = Self.accuracy(network, train)
        let fresh = Self.accuracy(network, Self.dataset(count: 48, seed: 2))
        if ProcessInfo.processInfo.environment["GRADCHECK_VERBOSE"] != nil {
            print("FIT accuracy \(before) → \(after) (fresh \(fresh)), loss \(firstEpochLoss) → \(lastEpochLoss)")
        }
        #expect(before < 0.6, "sanity: the untrained network is not already good (\(before))")
        #expect(lastEpochLoss < 0.5 * firstEpochLoss, "loss \(firstEpochLoss) → \(lastEpochLoss)")
        #expect(after >= 0.95, "training accuracy \(after)")
        // It generalises to fresh images of the same classes, too (a weaker bar).
        #expect(fresh >= 0.8, "accuracy on fresh images \(fresh)")
        // And the folded inference model agrees with it.
        let model = network.inferenceModel()
        let x = train.images.prefix(8).flatMap { $0 }
        var p = [Float](repeating: 0, count: 8 * k)
        p.withUnsafeMutableBufferPointer { InferenceSession(model: model, threads: 1).run(x, batch: 8, probabilities: $0.baseAddress!) }
        #expect(maxAbsoluteDifference(p, softmaxRows(network.logits(x, batch: 8), columns: k)) < 1e-4)
    }
}
