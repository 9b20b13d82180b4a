import Foundation
import Testing
@testable import NeuralNet

/// `ClassificationLoss` against finite differences of its own loss value and against closed forms
/// computed here in Double.
@Suite struct LossTests {
    struct LossCase: Sendable, CustomTestStringConvertible {
        var name: String
        var targets: [Target]
        var weights: [Float]?
        var smoothing: Float
        var testDescription: String { name }
    }

    static let cases: [LossCase] = [
        LossCase(name: "cross-entropy", targets: [.label(0), .label(3), .label(1), .label(3)], weights: nil, smoothing: 0),
        LossCase(name: "cross-entropy, label smoothing 0.1", targets: [.label(2), .label(0), .label(1), .label(3)], weights: nil, smoothing: 0.1),
        LossCase(name: "cross-entropy, weighted", targets: [.label(1), .label(1), .label(0), .label(2)], weights: [1, 4, 0.5, 2], smoothing: 0),
        LossCase(name: "cross-entropy, weighted and smoothed", targets: [.label(3), .label(2), .label(0), .label(1)], weights: [0.25, 1, 3, 0], smoothing: 0.2),
        LossCase(name: "complementary label", targets: [.notLabel(0), .notLabel(2), .notLabel(3), .notLabel(1)], weights: nil, smoothing: 0),
        LossCase(name: "complementary label, weighted", targets: [.notLabel(1), .notLabel(1), .notLabel(0), .notLabel(3)], weights: [2, 1, 0.5, 3], smoothing: 0),
        LossCase(name: "mixed targets, weighted", targets: [.label(0), .notLabel(0), .label(2), .notLabel(3)], weights: [1, 2, 3, 1], smoothing: 0.1),
    ]

    static let classes = 4

    static func loss(_ logits: [Float], _ c: LossCase, gradient: UnsafeMutablePointer<Float>? = nil) -> ClassificationLoss.Result {
        logits.withUnsafeBufferPointer {
            ClassificationLoss.evaluate(logits: $0.baseAddress!, classes: classes, targets: c.targets, weights: c.weights,
                                        labelSmoothing: c.smoothing, gradient: gradient)
        }
    }

    static func gradient(_ logits: [Float], _ c: LossCase) -> [Float] {
        var g = [Float](repeating: .nan, count: logits.count)
        g.withUnsafeMutableBufferPointer { _ = loss(logits, c, gradient: $0.baseAddress!) }
        return g
    }

    /// The loss written out from its definition: Σ wᵢ·ℓᵢ / Σ wᵢ with ℓ = −Σ q log p (q the smoothed
    /// one-hot) for labels and −log(1 − p_k) for complementary labels.
    static func referenceLoss(_ logits: [Double], _ c: LossCase) -> Double {
        let k = classes
        var total = 0.0, weightSum = 0.0
        for (i, target) in c.targets.enumerated() {
            let row = Array(logits[(i * k)..<((i + 1) * k)])
            let peak = row.max()!
            let z = row.map { Foundation.exp($0 - peak) }.reduce(0, +)
            let p = row.map { Foundation.exp($0 - peak) / z }
            let w = Double(c.weights?[i] ?? 1)
            weightSum += w
            switch target {
            case .label(let y):
                let eps = Double(c.smoothing)
                for j in 0..<k {
                    let q = (j == y ? 1 - eps : 0) + eps / Double(k)
                    total -= w * q * Foundation.log(p[j])
                }
            case .notLabel(let y):
                total -= w * Foundation.log(1 - p[y])
            }
        }
        return total / weightSum
    }

    @Test(arguments: cases)
    func gradientMatchesFiniteDifferences(_ c: LossCase) {
        let logits = uniformArray(c.targets.count * Self.classes, seed: 31, in: -3...3)
        let analytic = Self.gradient(logits, c)
        #expect(!analytic.contains { $0.isNaN }, "every gradient entry is written")
        // Differentiate the Double reference (checks the gradient formula with no float32 noise) and,
        // separately, the implementation's own float32 loss value.
        let h = 1e-4, hf: Float = 1e-2
        var numericRef: [Double] = [], numericImpl: [Double] = []
        for i in logits.indices {
            var plus = logits.map(Double.init), minus = plus
            plus[i] += h
            minus[i] -= h
            numericRef.append((Self.referenceLoss(plus, c) - Self.referenceLoss(minus, c)) / (2 * h))
            var p = logits, m = logits
            p[i] += hf
            m[i] -= hf
            numericImpl.append(Double(Self.loss(p, c).loss - Self.loss(m, c).loss) / (Double(p[i]) - Double(m[i])))
        }
        let a = analytic.map(Double.init)
        expectGradientsMatch([GradientComparison(name: "\(c.name) vs reference", analytic: a, numeric: numericRef)], tolerance: 1e-4)
        expectGradientsMatch([GradientComparison(name: "\(c.name) vs own loss", analytic: a, numeric: numericImpl)], tolerance: 1e-2)
        // And the value itself.
        let value = Double(Self.loss(logits, c).loss)
        #expect(abs(value - Self.referenceLoss(logits.map(Double.init), c)) < 1e-5 * max(1, abs(value)))
    }

    /// Each CE row of the gradient sums to zero (softmax is shift-invariant); so does each
    /// complementary-label row.
    @Test(arguments: cases)
    func gradientRowsSumToZero(_ c: LossCase) {
        let logits = uniformArray(c.targets.count * Self.classes, seed: 32, in: -2...2)
        let g = Self.gradient(logits, c)
        for i in 0..<c.targets.count {
            let row = g[(i * Self.classes)..<((i + 1) * Self.classes)]
            #expect(abs(row.reduce(0, +)) < 1e-6)
        }
    }

    @Test func knownValues() {
        // Two equal logits: p = ½, CE = log 2; complementary: −log(1 − ½) = log 2.
        let ce = LossCase(name: "", targets: [.label(1)], weights: nil, smoothing: 0)
        let r1 = [Float](arrayLiteral: 0.5, 0.5).withUnsafeBufferPointer {
            ClassificationLoss.evaluate(logits: $0.baseAddress!, classes: 2, targets: ce.targets)
        }
        #expect(abs(r1.loss - Float(M_LN2)) < 1e-6)
        let r2 = [Float](arrayLiteral: 0, 0).withUnsafeBufferPointer {
            ClassificationLoss.evaluate(logits: $0.baseAddress!, classes: 2, targets: [.notLabel(0)])
        }
        #expect(abs(r2.loss - Float(M_LN2)) < 1e-6)
        // CE gradient p − onehot, averaged over the batch: logits [0, ln 3] → p = [¼, ¾].
        var g = [Float](repeating: 0, count: 4)
        let logits: [Float] = [0, Float(Foundation.log(3.0)), 0, Float(Foundation.log(3.0))]
        let r3 = g.withUnsafeMutableBufferPointer { gp in
            logits.withUnsafeBufferPointer {
                ClassificationLoss.evaluate(logits: $0.baseAddress!, classes: 2, targets: [.label(0), .label(1)], gradient: gp.baseAddress!)
            }
        }
        let expected: [Float] = [(0.25 - 1) / 2, 0.75 / 2, 0.25 / 2, (0.75 - 1) / 2]
        #expect(maxAbsoluteDifference(g, expected) < 1e-6)
        #expect(abs(Double(r3.loss) - (Foundation.log(4.0) + Foundation.log(4.0 / 3)) / 2) < 1e-6)
        #expect(r3.correct == 1)
    }

    /// A weight of 4 is exactly the sample repeated four times: same loss, and the weighted
    /// gradient row equals the sum of the four repeated rows.
    @Test(arguments: [false, true])
    func weightIsRepetition(complementary: Bool) {
        let k = Self.classes
        let a = uniformArray(k, seed: 33, in: -2...2), b = uniformArray(k, seed: 34, in: -2...2)
        let ta: Target = complementary ? .notLabel(2) : .label(2), tb: Target = complementary ? .notLabel(0) : .label(1)
        let weighted = LossCase(name: "", targets: [ta, tb], weights: [4, 1], smoothing: complementary ? 0 : 0.1)
        let repeated = LossCase(name: "", targets: [ta, ta, ta, ta, tb], weights: nil, smoothing: weighted.smoothing)
        let lw = Self.loss(a + b, weighted), lr = Self.loss(a + a + a + a + b, repeated)
        #expect(abs(lw.loss - lr.loss) < 1e-6)
        let gw = Self.gradient(a + b, weighted), gr = Self.gradient(a + a + a + a + b, repeated)
        for j in 0..<k {
            #expect(abs(gw[j] - (gr[j] + gr[k + j] + gr[2 * k + j] + gr[3 * k + j])) < 1e-6)
            #expect(abs(gw[k + j] - gr[4 * k + j]) < 1e-6)
        }
        // A zero-weight sample contributes nothing.
        let zero = LossCase(name: "", targets: [ta, tb], weights: [0, 1], smoothing: weighted.smoothing)
        let alone = LossCase(name: "", targets: [tb], weights: nil, smoothing: weighted.smoothing)
        #expect(abs(Self.loss(a + b, zero).loss - Self.loss(b, alone).loss) < 1e-6)
        #expect(Self.gradient(a + b, zero)[0..<k].allSatisfy { $0 == 0 })
    }

    /// All weights zero: nothing to learn from; loss 0 and a zero (not NaN) gradient.
    @Test func allZeroWeights() {
        let c = LossCase(name: "", targets: [.label(1), .notLabel(2)], weights: [0, 0], smoothing: 0.1)
        let logits = uniformArray(2 * Self.classes, seed: 35)
        #expect(Self.loss(logits, c).loss == 0)
        #expect(Self.gradient(logits, c).allSatisfy { $0 == 0 })
    }

    @Test func accuracyCounting() {
        // Row arg-maxes: 2, 0, 1.
        let logits: [Float] = [0, 1, 5, 0, -1, /**/ 9, 2, 3, 0.5, 0, /**/ 0.1, 1, 0, 0.3, -2]
        let result = logits.withUnsafeBufferPointer {
            ClassificationLoss.evaluate(logits: $0.baseAddress!, classes: 5, targets: [.label(2), .notLabel(0), .notLabel(3)])
        }
        // label 2 (arg-max 2) is right, "not 0" (arg-max 0) is wrong, "not 3" (arg-max 1) is right.
        #expect(result.correct == 2)
    }

    /// A confident mistake — the network is sure of the class the user ruled out — must still be
    /// pushed back: −log(1 − p_k) has gradient p_k (≈ 1) on z_k and −p_k·q_j elsewhere (q the softmax
    /// over the other classes), however large the margin. Reference values in Double from that form.
    @Test(arguments: [5.0, 20, 30, 45, 200])
    func complementaryLabelConfidentMistake(margin: Double) {
        let logits: [Float] = [Float(margin), 0.5, -0.5, 0]
        let c = LossCase(name: "", targets: [.notLabel(0)], weights: nil, smoothing: 0)
        let z = logits.map(Double.init)
        let others = z.dropFirst().map { Foundation.exp($0) }, rest = others.reduce(0, +)
        // log(1 − p₀) = log Σ_{j≠0} e^{z_j} − log Σ_j e^{z_j}, with the margin factored out of the latter.
        let logAll = z[0] + Foundation.log(1 + rest * Foundation.exp(-z[0]))
        let expectedLoss = logAll - Foundation.log(rest)
        let p0 = 1 / (1 + rest * Foundation.exp(-z[0]))
        let expectedGradient = [p0] + others.map { -p0 * $0 / rest }
        #expect(abs(Double(Self.loss(logits, c).loss) - expectedLoss) <= 1e-5 * expectedLoss, "loss")
        let g = Self.gradient(logits, c)
        for j in 0..<4 { #expect(abs(Double(g[j]) - expectedGradient[j]) < 1e-5, "∂/∂z\(j): \(g[j]) vs \(expectedGradient[j])") }
    }

    /// Extreme logits stay finite (no exp overflow, no log of zero).
    @Test func extremeLogitsStayFinite() {
        let logits: [Float] = [1000, -1000, 0, -1000, 1000, 0]
        let targets: [Target] = [.label(1), .notLabel(1)]
        var g = [Float](repeating: 0, count: 6)
        let result = g.withUnsafeMutableBufferPointer { gp in
            logits.withUnsafeBufferPointer {
                ClassificationLoss.evaluate(logits: $0.baseAddress!, classes: 3, targets: targets, labelSmoothing: 0.1, gradient: gp.baseAddress!)
            }
        }
        #expect(result.loss.isFinite && result.loss > 100)
        #expect(g.allSatisfy { $0.isFinite })
    }
}
