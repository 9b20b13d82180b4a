import Foundation

/// Softmax losses of a multi-head model over logits [N, Σ Kₕ]: each head's slice is its own
/// classification problem and a sample may have a target for some heads only (a manifest cell
/// left empty, feedback that names one head).
///
/// The loss is Σₕ (Σᵢ wᵢ·ℓₕᵢ / Σᵢ wᵢ) over the samples with a target for head h, so every head
/// counts the same whatever its label count, and a missing target adds nothing, not a zero.
public enum MultiHeadLoss {
    public struct Result: Sendable, Equatable {
        public var loss: Float
        /// Per head: samples whose arg-max within the head agrees with their target.
        public var correct: [Int]
        /// Per head: samples that had a target for it.
        public var labelled: [Int]

        public init(loss: Float, correct: [Int], labelled: [Int]) {
            self.loss = loss
            self.correct = correct
            self.labelled = labelled
        }
    }

    /// `targets[h][i]` is sample i's target for head h (nil: none). Writes d(loss)/d(logits)
    /// [N, Σ Kₕ] into `gradient` when given; rows of a head without a target get zero.
    public static func evaluate(
        logits: UnsafePointer<Float>, heads: [OutputHead], targets: [[Target?]], weights: [Float]? = nil,
        labelSmoothing: Float = 0, gradient: UnsafeMutablePointer<Float>? = nil
    ) -> Result {
        precondition(targets.count == heads.count, "one target list per head")
        let n = targets.first?.count ?? 0
        precondition(targets.allSatisfy { $0.count == n }, "every head's target list covers the batch")
        let columns = heads.last.map(\.range.upperBound) ?? 0
        gradient?.update(repeating: 0, count: n * columns)
        var result = Result(loss: 0, correct: [], labelled: [])
        for (h, head) in heads.enumerated() {
            let present = (0..<n).filter { targets[h][$0] != nil }
            result.labelled.append(present.count)
            guard !present.isEmpty else { result.correct.append(0); continue }
            // Gather the head's slice of the labelled rows: [M, Kₕ].
            var slice = [Float](repeating: 0, count: present.count * head.count)
            for (row, i) in present.enumerated() {
                for j in 0..<head.count { slice[row * head.count + j] = logits[i * columns + head.offset + j] }
            }
            var sliceGradient = [Float](repeating: 0, count: gradient == nil ? 0 : slice.count)
            let headResult = slice.withUnsafeBufferPointer { s in
                sliceGradient.withUnsafeMutableBufferPointer { g in
                    ClassificationLoss.evaluate(
                        logits: s.baseAddress!, classes: head.count, targets: present.map { targets[h][$0]! },
                        weights: weights.map { w in present.map { w[$0] } }, labelSmoothing: labelSmoothing,
                        gradient: gradient == nil ? nil : g.baseAddress!)
                }
            }
            result.loss += headResult.loss
            result.correct.append(headResult.correct)
            if let gradient {
                for (row, i) in present.enumerated() {
                    for j in 0..<head.count { gradient[i * columns + head.offset + j] = sliceGradient[row * head.count + j] }
                }
            }
        }
        return result
    }
}

extension Trainer {
    /// One step of a multi-head model: `targets[h][i]` is image i's target for head h, or nil.
    @discardableResult
    public func step(_ input: UnsafePointer<Float>, headTargets targets: [[Target?]], weights: [Float]? = nil) -> MultiHeadLoss.Result {
        let n = targets.first?.count ?? 0
        let logits = network.forward(input, batch: n, training: true)
        return withGradient(count: n * network.classCount) { gradient in
            let result = MultiHeadLoss.evaluate(logits: logits, heads: network.spec.outputHeads, targets: targets,
                                                weights: weights, labelSmoothing: labelSmoothing, gradient: gradient)
            update(gradient)
            return result
        }
    }
}
