import Foundation
import Testing
@testable import NeuralNet
import Tensor

/// The folded, fused inference program against the training network in evaluation mode.
@Suite struct InferenceTests {
    /// scene-s in miniature: same-padded 3×3 conv/BN/ReLU pairs (wide enough for Winograd), max
    /// pooling, global pooling and the dense head.
    static func sceneLike() -> ModelSpec {
        func block(_ c: Int) -> [LayerSpec] { [.conv(out: c, kernel: 3, stride: 1, padding: 1, bias: false), .batchNorm, .relu] }
        let layers = block(16) + block(16) + [.maxPool(kernel: 2, stride: 2, padding: 0)]
            + block(24) + block(24) + [.maxPool(kernel: 2, stride: 2, padding: 0)]
            + block(32) + [.globalAvgPool, .dense(out: nil)]
        return ModelSpec(name: "scene-xs", input: InputSpec(height: 12, width: 10), layers: layers, labels: labels(5))
    }

    /// Every op kind the planner has: conv with bias + BN + ReLU, a BatchNorm after pooling (no conv
    /// to fold into: the affine op) followed by ReLU, conv + ReLU + BN (the BN must not be folded
    /// into a conv whose ReLU is already fused), a standalone ReLU, strided and 1×1 convs, flatten,
    /// dropout and a hidden dense layer.
    static func mixed() -> ModelSpec {
        ModelSpec(name: "mixed", input: InputSpec(channels: 2, height: 9, width: 11, mean: [0.5, 0.5], std: [0.25, 0.3]),
                  layers: [.conv(out: 16, kernel: 3, stride: 1, padding: 1, bias: true), .batchNorm, .relu,
                           .maxPool(kernel: 3, stride: 2, padding: 1), .batchNorm, .relu,
                           .conv(out: 16, kernel: 3, stride: 1, padding: 1, bias: true), .relu, .batchNorm,
                           .avgPool(kernel: 3, stride: 1, padding: 1, countPadding: false),
                           .conv(out: 8, kernel: 1, stride: 1, padding: 0, bias: false), .batchNorm,
                           .conv(out: 6, kernel: 3, stride: 2, padding: 1, bias: false), .batchNorm, .relu,
                           .flatten, .dropout(rate: 0.5), .dense(out: 12), .relu, .dense(out: nil)],
                  labels: labels(4))
    }

    /// A small ResNet: stem, identity blocks (Winograd-sized) and projection blocks (strided and not).
    static func residual() -> ModelSpec {
        ModelSpec(name: "resnet-xs", input: InputSpec(height: 16, width: 14),
                  layers: [.conv(out: 16, kernel: 5, stride: 2, padding: 2, bias: false), .batchNorm, .relu,
                           .maxPool(kernel: 3, stride: 2, padding: 1),
                           .residual(out: 16, stride: 1), .residual(out: 24, stride: 2), .residual(out: 24, stride: 1),
                           .residual(out: 32, stride: 1),
                           .globalAvgPool, .dense(out: nil)],
                  labels: labels(6))
    }

    /// Ops straight on the input slot: a leading padded average pool (padding counted), BatchNorm +
    /// ReLU (affine), an identity residual block on 3 channels, padded overlapping max pooling and a
    /// flatten head.
    static func edges() -> ModelSpec {
        ModelSpec(name: "edges", input: InputSpec(height: 7, width: 6),
                  layers: [.avgPool(kernel: 2, stride: 1, padding: 1, countPadding: true), .batchNorm, .relu,
                           .residual(out: 3, stride: 1), .maxPool(kernel: 3, stride: 2, padding: 1), .flatten, .dense(out: nil)],
                  labels: labels(3))
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var spec: @Sendable () -> ModelSpec
        var name: String
        var randomState: Bool
        var threads: Int
        var testDescription: String { "\(name) \(randomState ? "random" : "trained") statistics, \(threads) thread(s)" }
    }

    static let cases: [Case] = [
        Case(spec: sceneLike, name: "scene-xs", randomState: false, threads: 1),
        Case(spec: sceneLike, name: "scene-xs", randomState: true, threads: 2),
        Case(spec: mixed, name: "mixed", randomState: true, threads: 1),
        Case(spec: mixed, name: "mixed", randomState: false, threads: 2),
        Case(spec: residual, name: "resnet-xs", randomState: false, threads: 1),
        Case(spec: residual, name: "resnet-xs", randomState: true, threads: 2),
        Case(spec: edges, name: "edges", randomState: true, threads: 1),
        Case(spec: edges, name: "edges", randomState: false, threads: 2),
    ]

    /// The same model with every convolution that can run `algorithm` forced onto it.
    static func forcing(_ model: InferenceModel, _ algorithm: ConvolutionAlgorithm) -> InferenceModel {
        func rewrite(_ ops: [InferenceOp]) -> [InferenceOp] {
            ops.map { op in
                switch op {
                case .convolution(let conv) where ConvolutionAlgorithm.candidates(for: conv.geometry).contains(algorithm):
                    return .convolution(conv.choosing(algorithm))
                case .residual(let main, let shortcut):
                    return .residual(main: rewrite(main), shortcut: rewrite(shortcut))
                default:
                    return op
                }
            }
        }
        return InferenceModel(spec: model.spec, inputShape: model.inputShape, ops: rewrite(model.ops),
                              largestActivation: model.largestActivation, embeddingSize: model.embeddingSize)
    }

    static func run(_ model: InferenceModel, _ x: [Float], batch: Int, threads: Int) -> (probabilities: [Float], logits: [Float], embeddings: [Float]) {
        let session = InferenceSession(model: model, threads: threads)
        var p = [Float](repeating: .nan, count: batch * model.classCount)
        var e = [Float](repeating: .nan, count: batch * model.embeddingSize)
        p.withUnsafeMutableBufferPointer { pp in
            e.withUnsafeMutableBufferPointer { ep in session.run(x, batch: batch, probabilities: pp.baseAddress!, embeddings: ep.baseAddress!) }
        }
        var l = [Float](repeating: .nan, count: batch * model.classCount)
        l.withUnsafeMutableBufferPointer { session.logits(x, batch: batch, into: $0.baseAddress!) }
        return (p, l, e)
    }

    @Test(arguments: cases)
    func foldedModelMatchesNetwork(_ c: Case) throws {
        let network = try preparedNetwork(c.spec(), seed: 21, threads: c.threads, randomState: c.randomState)
        let batch = 3
        let x = uniformArray(batch * network.inputShape.size, seed: 22, in: -1...2)
        let expectedLogits = network.logits(x, batch: batch, training: false)
        let expected = softmaxRows(expectedLogits, columns: network.classCount)
        let expectedEmbedding = network.embedding(x, batch: batch)
        // Sanity: the probabilities are not trivially uniform, so the comparison has something to compare.
        #expect(expected.max()! - expected.min()! > 0.05)

        let model = network.inferenceModel()
        #expect(model.classCount == network.classCount && model.embeddingSize == network.embeddingSize)
        // Every BatchNorm that follows a convolution is folded away.
        let foldable = zip(c.spec().layers, c.spec().layers.dropFirst()).filter {
            if case .conv = $0.0, case .batchNorm = $0.1 { true } else { false }
        }.count
        var folded = 0
        func countFolded(_ ops: [InferenceOp]) {
            for op in ops {
                if case .convolution(let conv) = op, conv.foldedBatchNorm { folded += 1 }
                if case .residual(let main, let shortcut) = op { countFolded(main); countFolded(shortcut) }
            }
        }
        countFolded(model.ops)
        #expect(folded >= foldable)

        // The planned model, each algorithm forced onto every convolution that supports it, and the
        // timing-tuned model; with two threads also the planned model on one.
        var variants: [(name: String, model: InferenceModel, threads: Int)] = [("planned", model, c.threads)]
        for algorithm in ConvolutionAlgorithm.allCases {
            let forced = Self.forcing(model, algorithm)
            #expect(forced.convolutions.contains { $0.algorithm == algorithm }, "\(algorithm) is exercised")
            variants.append(("\(algorithm)", forced, c.threads))
        }
        variants.append(("tuned", model.tuned(batch: batch, threads: c.threads), c.threads))
        if c.threads == 2 { variants.append(("planned, 1 thread", model, 1)) }
        for (name, variant, threads) in variants {
            let (p, logits, e) = Self.run(variant, x, batch: batch, threads: threads)
            #expect(maxAbsoluteDifference(p, expected) < 1e-4, "\(name): probabilities")
            #expect(maxRelativeDifference(logits, expectedLogits) < 1e-4, "\(name): logits")
            #expect(maxRelativeDifference(e, expectedEmbedding) < 1e-4, "\(name): embeddings")
            for row in 0..<batch {
                let sum = p[(row * network.classCount)..<((row + 1) * network.classCount)].reduce(0, +)
                #expect(abs(sum - 1) < 1e-5)
            }
        }
        // One image alone takes the batch-1 paths (the dense head as a GEMV, columns split by channel).
        let single = Self.run(model, Array(x[0..<network.inputShape.size]), batch: 1, threads: c.threads)
        #expect(maxRelativeDifference(single.logits, Array(expectedLogits[0..<network.classCount])) < 1e-4, "batch 1: logits")
        #expect(maxRelativeDifference(single.embeddings, Array(expectedEmbedding[0..<network.embeddingSize])) < 1e-4,
                "batch 1: embeddings")
    }

    /// The same model at every CKernels level this machine runs: the kernels differ only in vector
    /// width, so predictions agree to 1e-4 (the tuned model exercises each level's preferred paths).
    @Test func predictionsAgreeAcrossKernelLevels() throws {
        let network = try preparedNetwork(Self.residual(), seed: 25, threads: 2, randomState: true)
        let batch = 2
        let x = uniformArray(batch * network.inputShape.size, seed: 26, in: -1...2)
        let expected = softmaxRows(network.logits(x, batch: batch, training: false), columns: network.classCount)
        let model = network.inferenceModel()
        for algorithm in [ConvolutionAlgorithm.winograd4x4, .im2colPacked, .direct] {
            let forced = Self.forcing(model, algorithm)
            for level in KernelLevel.supported {
                let session = InferenceSession(model: forced, threads: 2, level: level)
                var p = [Float](repeating: .nan, count: batch * model.classCount)
                p.withUnsafeMutableBufferPointer { session.run(x, batch: batch, probabilities: $0.baseAddress!) }
                #expect(maxAbsoluteDifference(p, expected) < 1e-4, "\(algorithm) at \(level)")
            }
        }
    }

    /// A session serves any batch size in any order (buffers regrow), and a snapshot is immutable:
    /// training the network afterwards does not change what the model computes.
    @Test func sessionReuseAndSnapshotIsolation() throws {
        let network = try preparedNetwork(Self.residual(), seed: 23, randomState: true)
        let model = network.inferenceModel()
        let session = InferenceSession(model: model, threads: 2)
        let size = network.inputShape.size, k = network.classCount
        let x = uniformArray(5 * size, seed: 24)
        let reference = network.logits(x, batch: 5)
        for batch in [1, 5, 2, 5, 1] {
            var out = [Float](repeating: .nan, count: batch * k)
            out.withUnsafeMutableBufferPointer { session.logits(Array(x[0..<(batch * size)]), batch: batch, into: $0.baseAddress!) }
            #expect(maxRelativeDifference(out, Array(reference[0..<(batch * k)])) < 1e-4, "batch \(batch)")
        }
        // Change the network; the old snapshot still computes the old function.
        for i in 0..<network.parameters.parameterCount { network.parameters.values[i] *= 1.5 }
        _ = network.forward(x, batch: 5, training: true)
        var out = [Float](repeating: .nan, count: 5 * k)
        out.withUnsafeMutableBufferPointer { session.logits(x, batch: 5, into: $0.baseAddress!) }
        #expect(maxRelativeDifference(out, reference) < 1e-4)
        #expect(maxRelativeDifference(network.logits(x, batch: 5), reference) > 1e-2)
    }

    /// Two sessions on one model from concurrent tasks give the same answers as one session alone.
    @Test func concurrentSessions() async throws {
        let network = try preparedNetwork(Self.sceneLike(), seed: 25, randomState: true)
        let model = network.inferenceModel()
        let size = network.inputShape.size
        let inputs = (0..<4).map { uniformArray(2 * size, seed: 26 &+ UInt64($0)) }
        let expected = inputs.map { Self.run(model, $0, batch: 2, threads: 1).probabilities }
        let results = await withTaskGroup(of: (Int, [Float]).self) { group in
            for (i, x) in inputs.enumerated() {
                group.addTask { (i, Self.run(model, x, batch: 2, threads: 1).probabilities) }
            }
            var out: [Int: [Float]] = [:]
            for await (i, p) in group { out[i] = p }
            return out
        }
        for i in inputs.indices { #expect(results[i] == expected[i]) }
    }
}
