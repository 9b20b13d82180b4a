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

extension Target {
    /// The label the target names (as the label or as the one it is not).
    public var index: Int {
        switch self {
        case .label(let k), .notLabel(let k): k
        }
    }

    /// The same target relative to `offset` (a head's first output).
    func shifted(by offset: Int) -> Target {
        switch self {
        case .label(let k): .label(k - offset)
        case .notLabel(let k): .notLabel(k - offset)
        }
    }
}

extension Array where Element == OutputHead {
    /// The head whose outputs include label `index` of the whole label list.
    public func head(containing index: Int) -> OutputHead {
        first { $0.range.contains(index) } ?? self[0]
    }

    /// Targets over the whole label list (feedback, replay) as per-head targets: each trains
    /// only the head its label belongs to.
    public func split(_ targets: [Target]) -> [[Target?]] {
        map { head in targets.map { head.range.contains($0.index) ? $0.shifted(by: head.offset) : nil } }
    }
}

extension ClassificationLoss {
    /// `evaluate` for a model with `heads`, with targets naming labels of the whole label list:
    /// for one head the plain loss; for several, each target's loss within its own head
    /// (`MultiHeadLoss`). `correct` counts targets met within their head.
    public static func evaluate(
        logits: UnsafePointer<Float>, heads: [OutputHead], targets: [Target], weights: [Float]? = nil,
        labelSmoothing: Float = 0, gradient: UnsafeMutablePointer<Float>? = nil
    ) -> Result {
        guard heads.count > 1 else {
            return evaluate(logits: logits, classes: heads[0].count, targets: targets, weights: weights,
                            labelSmoothing: labelSmoothing, gradient: gradient)
        }
        let result = MultiHeadLoss.evaluate(logits: logits, heads: heads, targets: heads.split(targets), weights: weights,
                                            labelSmoothing: labelSmoothing, gradient: gradient)
        return Result(loss: result.loss, correct: result.correct.reduce(0, +))
    }
}
