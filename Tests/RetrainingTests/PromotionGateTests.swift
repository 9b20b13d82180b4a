import Testing
@testable import Retraining

@Suite struct PromotionGateTests {
    /// One user's share of a retrain holds after the rest is deferred.
    @Test func theShareCapHoldsAfterDeferring() {
        #expect(RetrainRun.shareCap([90, 10], share: 0.5) == 10, "90 and 10 → 10 each: 50%")
        #expect(RetrainRun.shareCap([2, 1], share: 0.5) == 1)
        #expect(RetrainRun.shareCap([30, 30, 30], share: 0.5) == 30, "equal users are never deferred")
        for counts in [[50, 7, 3], [100, 1], [8, 8, 1]] {
            let cap = RetrainRun.shareCap(counts, share: 0.4)
            let trained = counts.map { min($0, cap) }
            #expect(Double(trained.max()!) <= 0.4 * Double(trained.reduce(0, +)) || cap == 1, "\(counts) → cap \(cap)")
        }
    }

    /// Builds per-sample results: `same` samples both get right, then the discordant ones, then
    /// `boundary` of the listed kinds marked as boundary samples.
    struct Case {
        var parent: [Bool] = []
        var candidate: [Bool] = []
        var boundary: [Bool] = []
        var trusted: [Bool] = []

        mutating func add(_ count: Int, parent p: Bool, candidate c: Bool, boundary b: Bool = false, trusted t: Bool = true) {
            parent += Array(repeating: p, count: count)
            candidate += Array(repeating: c, count: count)
            boundary += Array(repeating: b, count: count)
            trusted += Array(repeating: t, count: count)
        }

        func decide(_ policy: GatePolicy = GatePolicy(), perClass: [String: Int] = ["a": 50, "b": 50]) -> GateVerdict {
            PromotionGate.decide(parent: parent, candidate: candidate, isBoundary: boundary, isTrusted: trusted,
                                 perClass: perClass, policy: policy)
        }
    }

    @Test func exactMcNemarTails() {
        #expect(abs(PairedComparison.upperTail(5, of: 5) - 1.0 / 32) < 1e-12)
        #expect(abs(PairedComparison.upperTail(4, of: 5) - 6.0 / 32) < 1e-12)
        #expect(PairedComparison.upperTail(0, of: 7) == 1 && PairedComparison.upperTail(3, of: 0) == 1)
        #expect(PairedComparison.upperTail(900, of: 1000) < 1e-100, "large counts stay finite")
    }

    @Test func promotesWhenBetterOnTheBoundaryAndNotWorseElsewhere() {
        var c = Case()
        c.add(90, parent: true, candidate: true)
        c.add(6, parent: false, candidate: true, boundary: true)
        c.add(4, parent: false, candidate: false, boundary: true)
        let verdict = c.decide()
        #expect(verdict.promotes, "\(verdict.reason)")
        #expect(verdict.boundary.onlyCandidate == 6 && abs(verdict.boundary.pCandidateBetter - 1.0 / 64) < 1e-12)
        #expect(verdict.reason.contains("confidence 0.900") && verdict.reason.contains("p=0.0156"))
    }

    @Test func refusesWhenWorseOnTrustedSamples() {
        var c = Case()
        c.add(80, parent: true, candidate: true)
        c.add(3, parent: true, candidate: false)
        c.add(8, parent: false, candidate: true, boundary: true, trusted: false)  // Untrusted: judge the boundary only.
        let verdict = c.decide()
        #expect(verdict.decision == .refuse && verdict.reason.hasPrefix("refused: worse"), "\(verdict.reason)")
        #expect(verdict.overall.samples == 83, "untrusted samples do not count for accuracy")
        var tolerant = GatePolicy()
        tolerant.tolerance = 0.05
        #expect(c.decide(tolerant).promotes, "a 3.6-point drop is within a tolerance of 5 points")
    }

    @Test func aSignificantRegressionRefusesEvenWithinTolerance() {
        var c = Case()
        c.add(900, parent: true, candidate: true)
        c.add(40, parent: true, candidate: false)
        c.add(12, parent: false, candidate: true, boundary: true)
        var policy = GatePolicy()
        policy.tolerance = 0.05
        let verdict = c.decide(policy)
        #expect(verdict.decision == .refuse && verdict.reason.contains("significantly worse"), "\(verdict.reason)")
    }

    @Test func refusesWhenNotBetterOnTheBoundary() {
        var c = Case()
        c.add(90, parent: true, candidate: true)
        c.add(2, parent: false, candidate: true, boundary: true)
        c.add(2, parent: true, candidate: false, boundary: true, trusted: false)
        let verdict = c.decide()
        #expect(verdict.decision == .refuse && verdict.reason.hasPrefix("refused: not better"), "\(verdict.reason)")
    }

    @Test func tooLittleEvidenceBlamesNobody() {
        var c = Case()
        c.add(90, parent: true, candidate: true)
        c.add(2, parent: false, candidate: true, boundary: true)
        let notSignificant = c.decide()
        #expect(notSignificant.decision == .insufficientEvidence, "2 of 2 fixed: p = 0.25")
        c.add(10, parent: false, candidate: true, boundary: true)
        let fewPerClass = c.decide(perClass: ["a": 50, "b": 3])
        #expect(fewPerClass.decision == .insufficientEvidence && fewPerClass.reason.contains("'b' has 3"), "\(fewPerClass.reason)")
        var agreeing = Case()
        agreeing.add(90, parent: true, candidate: true)
        agreeing.add(2, parent: true, candidate: true, boundary: true)
        #expect(agreeing.decide().decision == .insufficientEvidence, "both right on every boundary sample blames nobody")
        var noBoundary = Case()
        noBoundary.add(100, parent: true, candidate: true)
        #expect(noBoundary.decide().decision == .insufficientEvidence)
        var strict = GatePolicy()
        strict.confidence = 0.9999
        #expect(c.decide(strict).decision == .insufficientEvidence, "12 of 12 fixed is p = 0.00024, not enough at 0.9999")
    }
}
