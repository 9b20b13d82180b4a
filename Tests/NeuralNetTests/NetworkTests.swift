import Foundation
import Testing
@testable import NeuralNet
import Tensor

/// Whole-network forward/backward (NCHW in, logits out) and freezing.
@Suite struct NetworkTests {
    static func residualSpec(classes: Int = 3) -> ModelSpec {
        ModelSpec(name: "tiny-res", input: InputSpec(channels: 3, height: 6, width: 5, mean: [0, 0, 0], std: [1, 1, 1]),
                  // Conv bias, then ReLU, then a BatchNorm with no convolution to fold into.
                  layers: [.conv(out: 4, kernel: 3, stride: 1, padding: 1, bias: true), .relu, .batchNorm,
                           .residual(out: 6, stride: 2), .residual(out: 6, stride: 1),
                           .conv(out: 5, kernel: 1, stride: 1, padding: 0, bias: false),
                           .globalAvgPool, .dropout(rate: 0.3), .dense(out: 7), .relu, .dense(out: nil)],
                  labels: labels(classes))
    }

    static func flattenSpec() -> ModelSpec {
        ModelSpec(name: "tiny-flat", input: InputSpec(channels: 2, height: 5, width: 6, mean: [0, 0], std: [1, 1]),
                  layers: [.conv(out: 3, kernel: 3, stride: 2, padding: 1, bias: false), .batchNorm, .relu,
                           .flatten, .dense(out: 6), .relu, .dense(out: nil)],
                  labels: labels(4))
    }

    /// Network.backward against central differences of Σ r·logits through Network.forward, for the
    /// NCHW input gradient and every parameter tensor; ReLU kinks are handled as in the layer checks.
    static func check(_ network: Network, batch: Int, training: Bool, step h: Float,
                      inputLimit: Int, parameterLimit: Int) -> [GradientComparison] {
        let shape = network.inputShape, k = network.classCount
        let x = uniformArray(batch * shape.size, seed: 41)
        let r = uniformArray(batch * k, seed: 42)
        func objective(_ x: [Float]) -> Double {
            network.context.rng = SeededGenerator(seed: 4242)
            let logits = network.logits(x, batch: batch, training: training)
            return zip(logits, r).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        func pattern(_ x: [Float]) -> [Bool] {
            network.context.rng = SeededGenerator(seed: 4242)
            let cnhw = FloatBuffer(count: x.count)
            Layout.swapLeadingAxes(x, outer: batch, inner: shape.channels, plane: shape.plane, into: cnhw.pointer)
            return reluPattern(network.layers, input: Activation(shape: shape, batch: batch, buffer: cnhw),
                               context: network.context, training: { training && $0 >= network.frozenLayers })
        }
        func difference(_ original: Float, _ set: (Float) -> Float, _ evaluate: () -> (Double, [Bool]?)) -> Double? {
            finiteDifference(at: original, steps: [h, h / 4, h / 16], piecewiseLinear: !training, set: set, evaluate: evaluate)
        }

        network.context.rng = SeededGenerator(seed: 4242)
        _ = network.forward(x, batch: batch, training: training)
        network.parameters.gradients.fill(0)
        var gx = [Float](repeating: .nan, count: x.count)
        gx.withUnsafeMutableBufferPointer { network.backward(r, inputGradient: $0.baseAddress!) }
        let gp = network.parameters.gradients.array

        var results: [GradientComparison] = []
        var comparison = GradientComparison(name: "NCHW input", analytic: [], numeric: [])
        var probe = x
        for i in sampleIndices(x.count, limit: inputLimit, seed: 43) {
            if let d = difference(x[i], { probe[i] = $0; return probe[i] }, { (objective(probe), pattern(probe)) }) {
                comparison.analytic.append(Double(gx[i]))
                comparison.numeric.append(d)
            } else {
                comparison.skipped += 1
            }
        }
        results.append(comparison)
        let values = network.parameters.values.pointer
        for entry in network.parameters.entries {
            guard case .parameter = entry.kind else { continue }
            comparison = GradientComparison(name: entry.name, analytic: [], numeric: [])
            for local in sampleIndices(entry.slot.count, limit: parameterLimit, seed: 44 &+ UInt64(entry.slot.offset)) {
                let i = entry.slot.offset + local
                if let d = difference(values[i], { values[i] = $0; return values[i] }, { (objective(x), pattern(x)) }) {
                    comparison.analytic.append(Double(gp[i]))
                    comparison.numeric.append(d)
                } else {
                    comparison.skipped += 1
                }
            }
            results.append(comparison)
        }
        return results
    }

    @Test(arguments: [true, false])
    func residualNetworkGradients(training: Bool) throws {
        // Running statistics from training forwards keep evaluation-mode activations at a realistic scale.
        let network = try preparedNetwork(Self.residualSpec(), seed: 5, randomState: false)
        // In evaluation the network is piecewise linear (BatchNorm is affine), so a large step has no
        // truncation error and keeps float32 noise small next to the small early-layer gradients.
        let results = Self.check(network, batch: 3, training: training, step: training ? 1e-2 : 2e-2,
                                 inputLimit: 90, parameterLimit: 12)
        #expect(results.count == 1 + network.parameters.entries.filter { if case .parameter = $0.kind { true } else { false } }.count)
        // Training mode chains six batch-statistics BatchNorms in float32; at the step that balances
        // truncation against rounding the measured worst entry is ~0.5%, so allow 2% (a 10% error in
        // any entry still fails). Evaluation mode is piecewise linear and held to 1%.
        expectGradientsMatch(results, tolerance: training ? 2e-2 : 1e-2)
    }

    @Test func flattenNetworkGradients() throws {
        let network = try preparedNetwork(Self.flattenSpec(), seed: 6, threads: 2, randomState: true)
        // conv → batchNorm → relu: the BatchNorm applies the ReLU, so these gradients check the fused pass.
        #expect((network.layers[1] as? BatchNorm2D)?.appliesReLU == true && (network.layers[2] as? ReLU)?.absorbed == true)
        let results = Self.check(network, batch: 2, training: true, step: 5e-3, inputLimit: 60, parameterLimit: 20)
        expectGradientsMatch(results, tolerance: 1e-2)
    }

    /// NCHW in, [N, classes] out: each image's logits depend on that image only, whatever its place
    /// in the batch, and match a batch of one.
    @Test func batchLayoutIsPerImage() throws {
        let network = try preparedNetwork(Self.residualSpec(), seed: 7, randomState: true)
        let size = network.inputShape.size, k = network.classCount
        let x = uniformArray(3 * size, seed: 45)
        let all = network.logits(x, batch: 3)
        for i in 0..<3 {
            let single = network.logits(Array(x[(i * size)..<((i + 1) * size)]), batch: 1)
            #expect(maxRelativeDifference(single, Array(all[(i * k)..<((i + 1) * k)])) < 1e-5)
        }
        // Evaluation is deterministic and does not touch the state.
        let state = network.stateArray()
        #expect(network.logits(x, batch: 3) == all)
        #expect(network.stateArray() == state)
        // features() is the input of the classifier: applying the head by hand gives the logits.
        let e = network.embedding(x, batch: 3)
        let w = try #require(network.parameters.values(of: "layers.10.weight"))
        let b = try #require(network.parameters.values(of: "layers.10.bias"))
        let width = network.embeddingSize
        #expect(width == 7)
        for i in 0..<3 {
            for j in 0..<k {
                var z = Double(b[j])
                for f in 0..<width { z += Double(e[i * width + f]) * Double(w[j * width + f]) }
                #expect(abs(z - Double(all[i * k + j])) < 1e-5)
            }
        }
    }

    /// Training backward (no input gradient, stops at layer 0) accumulates exactly the parameter
    /// gradients of the full backward, and a second backward doubles them.
    @Test func backwardWithoutInputGradientAgrees() throws {
        let network = try preparedNetwork(Self.residualSpec(), seed: 10, threads: 2, randomState: true)
        let n = 2, x = uniformArray(n * network.inputShape.size, seed: 46), r = uniformArray(n * network.classCount, seed: 47)
        func gradients(withInput: Bool, twice: Bool = false) -> [Float] {
            network.context.rng = SeededGenerator(seed: 1)
            _ = network.forward(x, batch: n, training: true)
            network.parameters.gradients.fill(0)
            var gx = [Float](repeating: 0, count: x.count)
            for _ in 0..<(twice ? 2 : 1) {
                if withInput {
                    gx.withUnsafeMutableBufferPointer { network.backward(r, inputGradient: $0.baseAddress!) }
                } else {
                    network.backward(r)
                }
            }
            return network.parameters.gradients.array
        }
        let full = gradients(withInput: true), training = gradients(withInput: false)
        #expect(bitPatterns(full) == bitPatterns(training))
        #expect(full.contains { $0 != 0 })
        #expect(maxRelativeDifference(gradients(withInput: false, twice: true), full.map { 2 * $0 }) < 1e-5)
    }

    // MARK: Freezing

    static func freezeSpec() -> ModelSpec {
        ModelSpec(name: "freeze", input: InputSpec(channels: 3, height: 8, width: 8, mean: [0, 0, 0], std: [1, 1, 1]),
                  layers: [.conv(out: 8, kernel: 3, stride: 1, padding: 1, bias: false), .batchNorm, .relu,   // 0-2
                           .residual(out: 8, stride: 1),                                                    // 3
                           .residual(out: 16, stride: 2),                                                   // 4
                           .globalAvgPool, .dense(out: nil)],                                               // 5-6
                  labels: labels(3))
    }

    /// `trainableParameterOffset` is the size of the frozen prefix, counted by hand from the architecture.
    @Test func trainableOffsetCountsFrozenParameters() throws {
        let network = try Network(spec: Self.freezeSpec())
        let stem = 3 * 8 * 9 + 2 * 8                                  // conv weight + BN γ, β
        let identityBlock = 2 * (8 * 8 * 9) + 2 * (2 * 8)             // two convs, two BNs
        let projectionBlock = 16 * 8 * 9 + 16 * 16 * 9 + 8 * 16 + 3 * (2 * 16)
        let head = 16 * 3 + 3
        #expect(network.parameters.parameterCount == stem + identityBlock + projectionBlock + head)
        #expect(network.trainableParameterOffset == 0)
        network.freeze(upTo: 2)
        #expect(network.trainableParameterOffset == stem)
        network.freeze(upTo: 3)
        #expect(network.trainableParameterOffset == stem)
        network.freeze(upTo: 4)
        #expect(network.trainableParameterOffset == stem + identityBlock)
        network.freeze(upTo: 6)
        #expect(network.trainableParameterOffset == stem + identityBlock + projectionBlock)
        // The classifier always stays trainable.
        network.freeze(upTo: 100)
        #expect(network.frozenLayers == network.layerCount - 1)
        #expect(network.trainableParameterOffset == network.parameters.parameterCount - head)
        network.freeze(upTo: 0)
        #expect(network.trainableParameterOffset == 0)
    }

    @Test(arguments: [OptimizerKind.sgd(momentum: 0.9, nesterov: true), .adamW()])
    func frozenPrefixStaysBitIdentical(kind: OptimizerKind) throws {
        let network = try preparedNetwork(Self.freezeSpec(), seed: 8, randomState: false)
        let frozenCount = 4   // stem + first residual block
        network.freeze(upTo: frozenCount)
        let offset = network.trainableParameterOffset
        let frozenStateNames = Set(network.parameters.entries.filter {
            $0.kind == .state && Int($0.name.split(separator: ".")[1])! < frozenCount
        }.map(\.name))
        #expect(frozenStateNames.count == 2 * 3)   // three BatchNorms with mean and variance
        func snapshot(_ frozen: Bool) -> [String: [UInt32]] {
            var out: [String: [UInt32]] = [:]
            for entry in network.parameters.entries {
                let isFrozen = entry.kind == .state ? frozenStateNames.contains(entry.name) : entry.slot.offset < offset
                if isFrozen == frozen { out[entry.name] = bitPatterns(network.parameters.values(of: entry.name)!) }
            }
            return out
        }
        let frozenBefore = snapshot(true), trainableBefore = snapshot(false)

        // Weight decay would move frozen weights if it were applied to them.
        let optimizer = Optimizer(config: OptimizerConfig(kind: kind, learningRate: 0.05, weightDecay: 0.1), parameters: network.parameters)
        let n = 6, size = network.inputShape.size
        for step in 0..<4 {
            let x = uniformArray(n * size, seed: 50 &+ UInt64(step), in: -1...2)
            let logits = network.forward(x, batch: n, training: true)
            var grad = [Float](repeating: 0, count: n * network.classCount)
            grad.withUnsafeMutableBufferPointer { g in
                _ = ClassificationLoss.evaluate(logits: logits, classes: network.classCount,
                                                targets: (0..<n).map { .label($0 % 3) }, gradient: g.baseAddress!)
            }
            network.parameters.gradients.fill(0)
            network.backward(grad)
            // Backpropagation stops at the first trainable layer: frozen gradients were never written.
            #expect(network.parameters.gradients.array[0..<offset].allSatisfy { $0 == 0 })
            #expect(network.parameters.gradients.array[offset...].contains { $0 != 0 })
            optimizer.update(network.parameters, trainableOffset: offset)
        }
        #expect(snapshot(true) == frozenBefore, "frozen parameters or BatchNorm statistics changed")
        let trainableAfter = snapshot(false)
        for (name, before) in trainableBefore {
            #expect(trainableAfter[name] != before, "\(name) did not change")
        }
    }

    /// `Trainer.step` is exactly forward → loss → backward → update from the trainable offset, also
    /// with a frozen prefix (which it must leave bit-identical).
    @Test func trainerStepMatchesManualLoop() throws {
        let reference = try preparedNetwork(Self.freezeSpec(), seed: 12, randomState: true)
        let viaTrainer = try Network(spec: Self.freezeSpec()), manual = try Network(spec: Self.freezeSpec())
        try viaTrainer.load(reference.archive())
        try manual.load(reference.archive())
        viaTrainer.freeze(upTo: 3)
        manual.freeze(upTo: 3)
        let config = OptimizerConfig(kind: .sgd(momentum: 0.9, nesterov: true), learningRate: 0.05, weightDecay: 0.01)
        let trainer = Trainer(network: viaTrainer, optimizer: config, labelSmoothing: 0.1)
        let optimizer = Optimizer(config: config, parameters: manual.parameters)
        let n = 4, k = manual.classCount, size = manual.inputShape.size
        let targets: [Target] = [.label(0), .notLabel(1), .label(2), .notLabel(0)], weights: [Float] = [1, 2, 0.5, 1]
        let frozen = manual.trainableParameterOffset
        #expect(frozen > 0)
        for step in 0..<3 {
            let x = uniformArray(n * size, seed: 70 &+ UInt64(step))
            let result = trainer.step(x, targets: targets, weights: weights)
            let logits = manual.forward(x, batch: n, training: true)
            var gradient = [Float](repeating: 0, count: n * k)
            let expected = gradient.withUnsafeMutableBufferPointer {
                ClassificationLoss.evaluate(logits: logits, classes: k, targets: targets, weights: weights,
                                            labelSmoothing: 0.1, gradient: $0.baseAddress!)
            }
            manual.parameters.gradients.fill(0)
            manual.backward(gradient)
            optimizer.update(manual.parameters, trainableOffset: frozen)
            #expect(result.loss == expected.loss && result.correct == expected.correct)
        }
        #expect(bitPatterns(viaTrainer.valueArray()) == bitPatterns(manual.valueArray()))
        #expect(bitPatterns(viaTrainer.stateArray()) == bitPatterns(manual.stateArray()))
        #expect(bitPatterns(Array(viaTrainer.valueArray()[0..<frozen])) == bitPatterns(Array(reference.valueArray()[0..<frozen])))
        #expect(viaTrainer.valueArray()[frozen...] != reference.valueArray()[frozen...])
    }

    /// A frozen prefix runs in evaluation mode even in a training forward: its output equals the
    /// same network's evaluation-mode output, bit for bit; after it, batch statistics are used.
    @Test func frozenPrefixRunsInEvaluationMode() throws {
        let reference = try preparedNetwork(Self.freezeSpec(), seed: 9, randomState: true)
        func copy() throws -> Network {
            let network = try Network(spec: Self.freezeSpec())
            try network.load(reference.archive())
            return network
        }
        let n = 4, x = uniformArray(n * reference.inputShape.size, seed: 60, in: -1...2)
        func values(_ a: Activation) -> [Float] { Array(UnsafeBufferPointer(start: a.pointer, count: a.count)) }

        let frozen = try copy()
        frozen.freeze(upTo: 4)
        let prefix = values(frozen.forwardActivation(x, batch: n, training: true, stopBefore: 4))
        let expected = values(try copy().forwardActivation(x, batch: n, training: false, stopBefore: 4))
        #expect(bitPatterns(prefix) == bitPatterns(expected))
        let unfrozenTraining = values(try copy().forwardActivation(x, batch: n, training: true, stopBefore: 4))
        #expect(unfrozenTraining != prefix, "sanity: batch statistics differ from running statistics here")

        // Head-only: a training forward of a fully frozen trunk is the evaluation forward.
        let headOnly = try copy()
        headOnly.freeze(upTo: headOnly.layerCount - 1)
        let state = headOnly.stateArray()
        #expect(bitPatterns(headOnly.logits(x, batch: n, training: true)) == bitPatterns(try copy().logits(x, batch: n, training: false)))
        #expect(bitPatterns(headOnly.stateArray()) == bitPatterns(state), "frozen BatchNorm statistics moved")
    }
}
