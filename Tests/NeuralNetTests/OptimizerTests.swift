import Foundation
import Testing
@testable import NeuralNet
import Tensor

/// Update rules against hand computation (PyTorch's SGD/Nesterov/AdamW definitions), weight decay
/// placement, clipping, schedules and the trainable offset.
@Suite struct OptimizerTests {
    /// A store with a decaying weight w[2], a non-decaying bias b[1] and another weight u[2].
    static func store(w: [Float], b: Float, u: [Float] = [0.5, -0.5]) -> ParameterStore {
        let registry = ParameterRegistry()
        _ = registry.parameter("w", shape: [2], decays: true)
        _ = registry.parameter("b", shape: [1], decays: false)
        _ = registry.parameter("u", shape: [2], decays: true)
        _ = registry.state("s", shape: [1])
        let store = ParameterStore(registry)
        for (i, v) in (w + [b] + u).enumerated() { store.values[i] = v }
        return store
    }

    static func setGradients(_ store: ParameterStore, _ g: [Float]) {
        for (i, v) in g.enumerated() { store.gradients[i] = v }
    }

    static func expectClose(_ a: [Float], _ b: [Double], _ tolerance: Double = 1e-6, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.count == b.count, sourceLocation: sourceLocation)
        for (x, y) in zip(a, b) {
            #expect(abs(Double(x) - y) <= tolerance * max(1, abs(y)), "\(a) vs \(b)", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: [false, true])
    func sgdMomentumMatchesHandComputation(nesterov: Bool) {
        let (lr, mu, wd) = (0.1, 0.9, 0.01)
        let p = Self.store(w: [1, -2], b: 0.5)
        let optimizer = Optimizer(config: OptimizerConfig(kind: .sgd(momentum: Float(mu), nesterov: nesterov), learningRate: Float(lr),
                                                          weightDecay: Float(wd)), parameters: p)
        var w: [Double] = [1, -2, 0.5, 0.5, -0.5], buf = [Double](repeating: 0, count: 5)
        let decays = [true, true, false, true, true]
        let gradients: [[Float]] = [[0.3, -0.4, 1, 0.2, 0], [-0.1, 0.2, -0.5, 0, 0.7], [0.05, 0.05, 0.05, 0.05, 0.05]]
        for g in gradients {
            Self.setGradients(p, g)
            optimizer.update(p)
            // torch.optim.SGD: d = g + wd·w; buf = μ·buf + d; step = nesterov ? d + μ·buf : buf; w −= lr·step.
            for i in 0..<5 {
                let d = Double(g[i]) + (decays[i] ? wd * w[i] : 0)
                buf[i] = mu * buf[i] + d
                w[i] -= lr * (nesterov ? d + mu * buf[i] : buf[i])
            }
            Self.expectClose(p.values.array, w)
        }
        #expect(optimizer.step == 3)
        #expect(p.state.array == [0], "state is never touched by the optimizer")
    }

    @Test func plainSGDStep() {
        let p = Self.store(w: [1, 2], b: 3, u: [4, 5])
        let optimizer = Optimizer(config: OptimizerConfig(kind: .sgd(momentum: 0), learningRate: 0.5, weightDecay: 0), parameters: p)
        Self.setGradients(p, [1, -1, 2, 0, 4])
        optimizer.update(p)
        Self.expectClose(p.values.array, [0.5, 2.5, 2, 4, 3])
    }

    /// AdamW (lr 0.01, β 0.9 / 0.999, ε 1e-8, weight decay 0.1) over `gradients` on `p`, each step
    /// against torch.optim.AdamW computed by hand in Double: w ← w − lr·wd·w where `decays`
    /// (decoupled), then Adam's step with bias corrections.
    static func expectAdamWMatchesHandComputation(_ p: ParameterStore, decays: [Bool], gradients: [[Float]],
                                                  sourceLocation: SourceLocation = #_sourceLocation) {
        let (lr, b1, b2, eps, wd) = (0.01, 0.9, 0.999, 1e-8, 0.1)
        let optimizer = Optimizer(config: OptimizerConfig(kind: .adamW(beta1: Float(b1), beta2: Float(b2), epsilon: Float(eps)),
                                                          learningRate: Float(lr), weightDecay: Float(wd)), parameters: p)
        var w = p.values.array.map(Double.init)
        var m = [Double](repeating: 0, count: w.count), v = m
        for (t, g) in gradients.enumerated() {
            Self.setGradients(p, g)
            optimizer.update(p)
            for i in w.indices {
                let gi = Double(g[i])
                m[i] = b1 * m[i] + (1 - b1) * gi
                v[i] = b2 * v[i] + (1 - b2) * gi * gi
                let mHat = m[i] / (1 - Foundation.pow(b1, Double(t + 1))), vHat = v[i] / (1 - Foundation.pow(b2, Double(t + 1)))
                w[i] = w[i] - lr * (decays[i] ? wd * w[i] : 0) - lr * mHat / (vHat.squareRoot() + eps)
            }
            Self.expectClose(p.values.array, w, 1e-5, sourceLocation: sourceLocation)
        }
    }

    @Test func adamWMatchesHandComputation() {
        let gradients: [[Float]] = [[0.3, -0.4, 1, 0.2, 0], [-0.1, 0.2, -0.5, 0, 0.7], [3, 0.05, -2, 0.05, 0.05]]
        Self.expectAdamWMatchesHandComputation(Self.store(w: [1, -2], b: 0.5), decays: [true, true, false, true, true],
                                               gradients: gradients)
    }

    /// The same on tensors longer than the update's 16-wide vectors (37 and 21 values, the second
    /// starting at an offset that is not a multiple of 16), so both its vector loop and its scalar
    /// tail are checked against the hand computation.
    @Test func adamWMatchesHandComputationOnLongTensors() {
        let registry = ParameterRegistry()
        _ = registry.parameter("w", shape: [37], decays: true)
        _ = registry.parameter("b", shape: [21], decays: false)
        let p = ParameterStore(registry)
        var rng = SeededGenerator(seed: 9)
        for i in 0..<58 { p.values[i] = rng.nextNormal() }
        let gradients = (0..<3).map { _ in (0..<58).map { _ in rng.nextNormal() } }
        Self.expectAdamWMatchesHandComputation(p, decays: (0..<58).map { $0 < 37 }, gradients: gradients)
    }

    /// Adam's first step moves every parameter with a non-zero gradient by ≈ lr, whatever the
    /// gradient's magnitude.
    @Test func adamFirstStepIsLearningRate() {
        let p = Self.store(w: [0, 0], b: 0, u: [0, 0])
        let optimizer = Optimizer(config: OptimizerConfig(kind: .adamW(), learningRate: 0.01, weightDecay: 0), parameters: p)
        Self.setGradients(p, [1e-3, -50, 7, 0.2, -1e3])
        optimizer.update(p)
        Self.expectClose(p.values.array, [-0.01, 0.01, -0.01, -0.01, 0.01], 1e-4)
    }

    /// With a zero gradient only weight decay acts: weights shrink by lr·wd, biases do not move.
    @Test(arguments: [OptimizerKind.sgd(momentum: 0.9, nesterov: false), .sgd(momentum: 0.9, nesterov: true), .adamW()])
    func weightDecaySkipsBiases(kind: OptimizerKind) {
        let p = Self.store(w: [2, -4], b: 3, u: [1, 1])
        let optimizer = Optimizer(config: OptimizerConfig(kind: kind, learningRate: 0.1, weightDecay: 0.5), parameters: p)
        Self.setGradients(p, [0, 0, 0, 0, 0])
        optimizer.update(p)
        let values = p.values.array
        #expect(values[2] == 3, "bias decayed")
        // SGD (L2): d = wd·w, buf = d; Nesterov: d + μ·buf = 1.9·wd·w. AdamW: lr·wd·w.
        let factor: Double = if case .sgd(_, true) = kind { 1 - 0.1 * 0.5 * 1.9 } else { 1 - 0.1 * 0.5 }
        Self.expectClose(values, [2 * factor, -4 * factor, 3, factor, factor])
    }

    /// In a network, conv/dense weights decay; biases and BatchNorm γ/β do not.
    @Test func networkDecayFlags() throws {
        let network = try Network(spec: NetworkTests.residualSpec())
        for entry in network.parameters.entries {
            switch entry.kind {
            case .parameter(let decays):
                let isWeightMatrix = entry.name.hasSuffix(".weight") && entry.shape.count > 1
                #expect(decays == isWeightMatrix, "\(entry.name)")
            case .state:
                #expect(entry.name.hasSuffix(".running_mean") || entry.name.hasSuffix(".running_var"))
            }
        }
    }

    @Test func clippingRescalesToTheNorm() {
        // Gradient (3, 4, 0, 0, 12): norm 13; clip to 6.5 halves it.
        let p = Self.store(w: [0, 0], b: 0, u: [0, 0])
        let optimizer = Optimizer(config: OptimizerConfig(kind: .sgd(momentum: 0), learningRate: 1, weightDecay: 0,
                                                          gradientClipNorm: 6.5), parameters: p)
        Self.setGradients(p, [3, 4, 0, 0, 12])
        #expect(abs(Optimizer.gradientNorm(p, from: 0) - 13) < 1e-5)
        optimizer.update(p)
        Self.expectClose(p.values.array, [-1.5, -2, 0, 0, -6])
        // Below the limit nothing is rescaled.
        let q = Self.store(w: [0, 0], b: 0, u: [0, 0])
        let loose = Optimizer(config: OptimizerConfig(kind: .sgd(momentum: 0), learningRate: 1, weightDecay: 0,
                                                      gradientClipNorm: 100), parameters: q)
        Self.setGradients(q, [3, 4, 0, 0, 12])
        loose.update(q)
        Self.expectClose(q.values.array, [-3, -4, 0, 0, -12])
    }

    /// Only `trainableOffset..<count` moves, and only its gradient counts towards the clip norm.
    @Test(arguments: [OptimizerKind.sgd(momentum: 0.9, nesterov: false), .adamW()])
    func trainableOffsetFreezesThePrefix(kind: OptimizerKind) {
        let p = Self.store(w: [1, 2], b: 3, u: [4, 5])
        let optimizer = Optimizer(config: OptimizerConfig(kind: kind, learningRate: 0.1, weightDecay: 0.1, gradientClipNorm: 5),
                                  parameters: p)
        for offset in [3, 2, 4, 1, 5] {   // tensor boundaries, inside a tensor, everything frozen
            let before = p.values.array
            Self.setGradients(p, [1000, -1000, 1000, 3, 4])
            optimizer.update(p, trainableOffset: offset)
            let after = p.values.array
            #expect(bitPatterns(Array(after[0..<offset])) == bitPatterns(Array(before[0..<offset])), "offset \(offset)")
            #expect(after[offset...].indices.allSatisfy { after[$0] != before[$0] }, "offset \(offset)")
        }
        // With the prefix excluded the trainable gradient (3, 4) has norm 5, so it is not clipped.
        #expect(abs(Optimizer.gradientNorm(p, from: 3) - 5) < 1e-6)
        let q = Self.store(w: [0, 0], b: 0, u: [0, 0])
        let sgd = Optimizer(config: OptimizerConfig(kind: .sgd(momentum: 0), learningRate: 1, weightDecay: 0, gradientClipNorm: 5),
                            parameters: q)
        Self.setGradients(q, [1000, -1000, 1000, 3, 4])
        sgd.update(q, trainableOffset: 3)
        Self.expectClose(q.values.array, [0, 0, 0, -3, -4])
    }

    @Test func cosineSchedule() {
        let schedule = LearningRateSchedule.cosine(totalSteps: 110, warmupSteps: 10, minimumFactor: 0.1)
        // Linear warm-up over steps 0..<10 reaching 1, then 0.1 + 0.9·½(1 + cos(π·progress)).
        #expect(abs(schedule.factor(at: 0) - 0.1) < 1e-6)
        #expect(abs(schedule.factor(at: 4) - 0.5) < 1e-6)
        #expect(abs(schedule.factor(at: 9) - 1) < 1e-6)
        #expect(abs(schedule.factor(at: 10) - 1) < 1e-6)
        #expect(abs(schedule.factor(at: 35) - Float(0.1 + 0.9 * 0.5 * (1 + cos(Double.pi / 4)))) < 1e-6)
        #expect(abs(schedule.factor(at: 60) - 0.55) < 1e-6)
        #expect(abs(schedule.factor(at: 110) - 0.1) < 1e-6)
        #expect(abs(schedule.factor(at: 500) - 0.1) < 1e-6)
        let plain = LearningRateSchedule.cosine(totalSteps: 4)
        for step in 0...4 {
            let expected: Double = 0.5 * (1 + cos(Double.pi * Double(step) / 4))
            #expect(abs(Double(plain.factor(at: step)) - expected) < 1e-6, "step \(step)")
        }
    }

    @Test func stepAndConstantSchedules() {
        let step = LearningRateSchedule.step(every: 10, factor: 0.5)
        #expect([0, 9, 10, 19, 20, 35].map { step.factor(at: $0) } == [1, 1, 0.5, 0.5, 0.25, 0.125])
        #expect(LearningRateSchedule.constant.factor(at: 12345) == 1)
    }

    /// The optimizer applies lr·factor(step) with step counting completed updates from 0.
    @Test func optimizerFollowsSchedule() {
        let p = Self.store(w: [0, 0], b: 0, u: [0, 0])
        let optimizer = Optimizer(config: OptimizerConfig(kind: .sgd(momentum: 0), learningRate: 0.8, weightDecay: 0,
                                                          schedule: .step(every: 2, factor: 0.5)), parameters: p)
        var expected = 0.0
        for (step, factor) in [1.0, 1, 0.5, 0.5, 0.25].enumerated() {
            #expect(abs(Double(optimizer.currentLearningRate) - 0.8 * factor) < 1e-7, "step \(step)")
            Self.setGradients(p, [1, 0, 0, 0, 0])
            optimizer.update(p)
            expected -= 0.8 * factor
            #expect(abs(Double(p.values[0]) - expected) < 1e-6)
        }
    }
}
