import Foundation

/// What one training sample says about its image.
public enum Target: Sendable, Hashable {
    /// The image shows class k: softmax cross-entropy (with optional label smoothing).
    case label(Int)
    /// The image does *not* show class k (a deselected image whose true class nobody gave):
    /// the complementary-label loss −log(1 − p_k).
    case notLabel(Int)
}

/// Softmax classification losses over logits [N, K], per-sample weighted.
///
/// The batch loss is Σᵢ wᵢ·ℓᵢ / Σᵢ wᵢ, so a weight of 4 is exactly a sample repeated four times —
/// which is how boundary upsampling can be expressed without duplicating data.
public enum ClassificationLoss {
    public struct Result: Sendable {
        public var loss: Float
        /// Samples whose arg-max agrees with their target (for `.notLabel(k)`: arg-max ≠ k).
        public var correct: Int
    }

    /// Computes the loss and, when `gradient` is given, d(loss)/d(logits) [N, K] into it.
    public static func evaluate(
        logits: UnsafePointer<Float>, classes k: Int, targets: [Target], weights: [Float]? = nil,
        labelSmoothing: Float = 0, gradient: UnsafeMutablePointer<Float>? = nil
    ) -> Result {
        let n = targets.count
        precondition(weights == nil || weights!.count == n, "one weight per sample")
        precondition(labelSmoothing >= 0 && labelSmoothing < 1, "label smoothing must be in [0, 1)")
        let totalWeight = weights.map { $0.reduce(0, +) } ?? Float(n)
        guard totalWeight > 0 else {
            gradient?.update(repeating: 0, count: n * k)
            return Result(loss: 0, correct: 0)
        }
        var loss: Double = 0
        var correct = 0
        var probabilities = [Double](repeating: 0, count: k)
        for i in 0..<n {
            let row = logits + i * k
            let w = Double(weights?[i] ?? 1) / Double(totalWeight)
            var peak = -Float.infinity, argmax = 0
            for j in 0..<k where row[j] > peak { peak = row[j]; argmax = j }
            var sum: Double = 0
            for j in 0..<k { probabilities[j] = Foundation.exp(Double(row[j] - peak)); sum += probabilities[j] }
            let logSum = Foundation.log(sum)
            for j in 0..<k { probabilities[j] /= sum }
            let grad = gradient.map { $0 + i * k }
            switch targets[i] {
            case .label(let c):
                precondition(c >= 0 && c < k, "label \(c) out of range 0..<\(k)")
                if argmax == c { correct += 1 }
                let off = Double(labelSmoothing) / Double(k), on = 1 - Double(labelSmoothing) + off
                var sampleLoss: Double = 0
                for j in 0..<k {
                    let q = j == c ? on : off
                    let logP = Double(row[j] - peak) - logSum
                    sampleLoss -= q * logP
                    grad?[j] = Float(w * (probabilities[j] - q))
                }
                loss += w * sampleLoss
            case .notLabel(let c):
                precondition(c >= 0 && c < k, "label \(c) out of range 0..<\(k)")
                if argmax != c { correct += 1 }
                // log(1 − p_c) = log Σ_{j≠c} e^{z_j} − log Σ_j e^{z_j}, without cancellation. The first sum
                // is taken relative to its own maximum, so a confident mistake (p_c → 1) neither
                // underflows it nor flattens the gradient.
                var restPeak = -Float.infinity
                for j in 0..<k where j != c { restPeak = max(restPeak, row[j]) }
                var rest: Double = 0
                for j in 0..<k where j != c { rest += Foundation.exp(Double(row[j]) - Double(restPeak)) }
                guard rest > 0 else {
                    // A single class: p_c ≡ 1, a constant loss (floored as before) with no gradient.
                    loss -= w * Foundation.log(1e-12)
                    for j in 0..<k { grad?[j] = 0 }
                    continue
                }
                loss -= w * ((Foundation.log(rest) + Double(restPeak)) - (logSum + Double(peak)))
                // ∂/∂z_j = p_c·(δ_jc − p_j)/(1 − p_c) = p_c for j = c, and −p_c·q_j otherwise with
                // q_j = e^{z_j} / Σ_{i≠c} e^{z_i}.
                let pc = probabilities[c]
                for j in 0..<k {
                    grad?[j] = Float(j == c ? w * pc : -w * pc * Foundation.exp(Double(row[j]) - Double(restPeak)) / rest)
                }
            }
        }
        return Result(loss: Float(loss), correct: correct)
    }
}
