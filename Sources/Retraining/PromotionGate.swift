import Foundation

/// What a candidate must prove before it replaces the serving version.
public struct GatePolicy: Sendable, Equatable {
    /// How much lower the candidate's accuracy on the evaluation set may be (a point estimate).
    public var tolerance: Double
    /// Confidence of the paired tests: the boundary improvement must be significant at this level
    /// (short of it the feedback waits for more), and a regression significant at this level
    /// refuses even within `tolerance`.
    public var confidence: Double
    /// Evaluation samples each class needs before the gate decides at all.
    public var minEvaluationPerClass: Int

    public init(tolerance: Double = 0, confidence: Double = 0.9, minEvaluationPerClass: Int = 20) {
        self.tolerance = tolerance
        self.confidence = confidence
        self.minEvaluationPerClass = minEvaluationPerClass
    }
}

/// Two models judged on the same samples: who got which right (the input to McNemar's test).
public struct PairedComparison: Sendable, Equatable {
    public var samples = 0
    public var parentCorrect = 0
    public var candidateCorrect = 0
    /// Samples only the candidate gets right, and only the parent.
    public var onlyCandidate = 0
    public var onlyParent = 0

    public init() {}

    public init(parent: [Bool], candidate: [Bool]) {
        precondition(parent.count == candidate.count, "paired comparison needs the same samples")
        samples = parent.count
        for (p, c) in zip(parent, candidate) {
            if p { parentCorrect += 1 }
            if c { candidateCorrect += 1 }
            if c && !p { onlyCandidate += 1 }
            if p && !c { onlyParent += 1 }
        }
    }

    public var parentAccuracy: Double { samples == 0 ? 0 : Double(parentCorrect) / Double(samples) }
    public var candidateAccuracy: Double { samples == 0 ? 0 : Double(candidateCorrect) / Double(samples) }
    /// Exact one-sided McNemar p-value for "the candidate is better": P(X ≥ onlyCandidate) with
    /// X ~ Binomial(discordant, ½). 1 when nothing differs.
    public var pCandidateBetter: Double { Self.upperTail(onlyCandidate, of: onlyCandidate + onlyParent) }
    public var pCandidateWorse: Double { Self.upperTail(onlyParent, of: onlyCandidate + onlyParent) }

    /// P(X ≥ k) for X ~ Binomial(n, ½).
    static func upperTail(_ k: Int, of n: Int) -> Double { Binomial.upperTail(k, of: n, rate: 0.5) }
}

/// The gate's decision and every number it used.
public struct GateVerdict: Sendable, Equatable {
    public enum Decision: String, Sendable, Equatable {
        case promote
        /// The candidate is worse on trusted samples, or not better on the boundary: the feedback it
        /// trained on is quarantined.
        case refuse
        /// Too few evaluation samples, or better but not significantly: nothing is blamed, the
        /// feedback stays queued for a retrain with more.
        case insufficientEvidence = "insufficient-evidence"
    }

    public var decision: Decision
    public var reason: String
    public var overall: PairedComparison
    public var boundary: PairedComparison
    /// A multi-head model's trusted samples per head: each head is judged on its own and none
    /// may get worse. Empty for a model with one head.
    public var heads: [String: PairedComparison] = [:]
    public var policy: GatePolicy

    public var promotes: Bool { decision == .promote }
}

/// Decides on paired per-sample results of the serving version and the candidate over the same
/// evaluation set: base validation data and held-out feedback kept across versions.
///
/// Accuracy is judged on *trusted* samples only — base data and held-out feedback of events a
/// gate already accepted — because held-out feedback from the batch being trained on shares that
/// batch's labels: a poisoned batch would vouch for itself. Boundary improvement is judged on
/// every held-out boundary sample; a candidate that learns a lie there still has to keep the
/// trusted samples right.
public enum PromotionGate {
    /// - Parameters:
    ///   - parent, candidate: whether each model got each evaluation sample right.
    ///   - isBoundary: which samples are deselected or corrected ones.
    ///   - isTrusted: which samples judge accuracy (base data, vetted held-out feedback).
    ///   - perClass: trusted evaluation samples per class name (the evidence check).
    ///   - heads: a multi-head model's head of each sample; every head must pass the accuracy
    ///     checks on its own trusted samples, so a candidate cannot buy one head's gain with
    ///     another's loss. Nil (or one head) for a classic model.
    public static func decide(parent: [Bool], candidate: [Bool], isBoundary: [Bool], isTrusted: [Bool],
                              perClass: [String: Int], policy: GatePolicy, heads: [String]? = nil) -> GateVerdict {
        let pick = { (values: [Bool], mask: [Bool]) in zip(values, mask).filter(\.1).map(\.0) }
        let overall = PairedComparison(parent: pick(parent, isTrusted), candidate: pick(candidate, isTrusted))
        let boundary = PairedComparison(parent: pick(parent, isBoundary), candidate: pick(candidate, isBoundary))
        let alpha = 1 - policy.confidence
        func f(_ x: Double) -> String { String(format: "%.3f", x) }
        func p(_ x: Double) -> String { String(format: "%.3g", x) }
        var verdict = GateVerdict(decision: .refuse, reason: "", overall: overall, boundary: boundary, policy: policy)
        if let heads, Set(heads).count > 1 {
            for name in Set(heads) {
                let mask = zip(heads, isTrusted).map { $0 == name && $1 }
                verdict.heads[name] = PairedComparison(parent: pick(parent, mask), candidate: pick(candidate, mask))
            }
        }
        let short = perClass.filter { $0.value < policy.minEvaluationPerClass }.sorted { $0.key < $1.key }
        if !short.isEmpty || boundary.samples == 0 {
            verdict.decision = .insufficientEvidence
            verdict.reason = "too little evidence to judge: "
                + (short.isEmpty ? "" : short.prefix(5).map { "'\($0.key)' has \($0.value)" }.joined(separator: ", ")
                    + " evaluation samples (need \(policy.minEvaluationPerClass) per class)")
                + (short.isEmpty || boundary.samples > 0 ? "" : "; ")
                + (boundary.samples > 0 ? "" : "no held-out boundary samples yet; submit more deselections")
            return verdict
        }
        // The accuracy checks, for each head on its own and then for all trusted samples together.
        // Nil when `comparison` passes, else why it does not.
        func regression(_ comparison: PairedComparison, _ subject: String, _ samples: String) -> String? {
            let stats = "(\(f(comparison.candidateAccuracy)) vs \(f(comparison.parentAccuracy)) on \(samples)"
            if comparison.candidateAccuracy < comparison.parentAccuracy - policy.tolerance {
                return "refused: \(subject) \(stats), tolerance \(f(policy.tolerance)))"
            }
            if comparison.onlyParent > comparison.onlyCandidate, comparison.pCandidateWorse < alpha {
                return "refused: significantly \(subject) \(stats); McNemar p=\(p(comparison.pCandidateWorse)) "
                    + "< \(p(alpha)) at confidence \(f(policy.confidence)))"
            }
            return nil
        }
        for (name, head) in verdict.heads.sorted(by: { $0.key < $1.key }) {
            if let reason = regression(head, "worse on head '\(name)'", "its \(head.samples) trusted evaluation samples") {
                verdict.reason = reason
                return verdict
            }
        }
        if let reason = regression(overall, "worse on the evaluation set", "\(overall.samples) trusted evaluation samples") {
            verdict.reason = reason
            return verdict
        }
        let stats = "(\(f(overall.candidateAccuracy)) vs \(f(overall.parentAccuracy)) on \(overall.samples) trusted evaluation samples"
        let bstats = "\(f(boundary.candidateAccuracy)) vs \(f(boundary.parentAccuracy)) on \(boundary.samples) boundary samples, "
            + "\(boundary.onlyCandidate) fixed, \(boundary.onlyParent) broken, McNemar p=\(p(boundary.pCandidateBetter))"
        guard boundary.onlyCandidate + boundary.onlyParent > 0 else {
            // Both versions get the same boundary samples right: nothing to blame the feedback for.
            verdict.decision = .insufficientEvidence
            verdict.reason = "too little evidence to judge: both versions agree on every held-out boundary sample (\(bstats)); "
                + "the feedback stays queued"
            return verdict
        }
        guard boundary.onlyCandidate > boundary.onlyParent else {
            verdict.reason = "refused: not better on the held-out boundary samples (\(bstats))"
            return verdict
        }
        guard boundary.pCandidateBetter < alpha else {
            // Better, but on too few samples to tell from luck: the feedback waits for more.
            verdict.decision = .insufficientEvidence
            verdict.reason = "too little evidence to judge: better on the held-out boundary samples but not significantly "
                + "(\(bstats); need p < \(p(alpha)) at confidence \(f(policy.confidence))); the feedback stays queued"
            return verdict
        }
        verdict.decision = .promote
        verdict.reason = "promoted: not worse on the evaluation set \(stats)) and better on the boundary (\(bstats) "
            + "< \(p(alpha)) at confidence \(f(policy.confidence)))"
        return verdict
    }
}
