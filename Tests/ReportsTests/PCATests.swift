import Foundation
import Testing
@testable import Reports

struct TestRNG {
    var state: UInt64
    mutating func next() -> Double {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Double(state >> 11) * 0x1.0p-53
    }
    mutating func symmetric() -> Double { next() * 2 - 1 }
}

@Suite struct PCATests {
    func dot(_ a: [Float], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + Double($1.0) * $1.1 } }

    /// 8 points on a 4×2 lattice rotated by 30°: t ∈ {-3,-1,1,3} along u, s ∈ {-½,½} along v, offset (10, -5).
    /// By hand: var(u) = 2·(9+1+1+9)/7 = 40/7, var(v) = 8·¼/7 = 2/7 → ratios 20/21, 1/21.
    @Test func knownAxes2D() {
        let u = [cos(Double.pi / 6), sin(Double.pi / 6)]
        let v = [-sin(Double.pi / 6), cos(Double.pi / 6)]
        var pts: [[Float]] = []
        for t in [-3.0, -1, 1, 3] {
            for s in [-0.5, 0.5] {
                pts.append([Float(10 + t * u[0] + s * v[0]), Float(-5 + t * u[1] + s * v[1])])
            }
        }
        let fit = PCA.fit(pts, components: 2)
        #expect(fit.axes.count == 2)
        // Sign convention: largest |component| positive → u = (0.866, 0.5), v' = (0.5, -0.866) · -1 → (-0.5, 0.866)
        #expect(abs(Double(fit.axes[0][0]) - u[0]) < 1e-5 && abs(Double(fit.axes[0][1]) - u[1]) < 1e-5)
        #expect(abs(Double(fit.axes[1][0]) - v[0]) < 1e-5 && abs(Double(fit.axes[1][1]) - v[1]) < 1e-5)
        #expect(abs(fit.explainedVariance[0] - 40.0 / 7) < 1e-4)
        #expect(abs(fit.explainedVariance[1] - 2.0 / 7) < 1e-4)
        #expect(abs(fit.explainedVarianceRatio[0] - 20.0 / 21) < 1e-6)
        #expect(abs(fit.explainedVarianceRatio[1] - 1.0 / 21) < 1e-6)
        #expect(abs(fit.mean[0] - 10) < 1e-5 && abs(fit.mean[1] + 5) < 1e-5)
        // First point: t = -3, s = -0.5.
        #expect(abs(fit.projected[0][0] + 3) < 1e-4)
        #expect(abs(fit.projected[0][1] + 0.5) < 1e-4)
        #expect(PCA.project(pts) == fit.projected)
        #expect(PCA.explainedVarianceRatio(pts) == fit.explainedVarianceRatio)
    }

    /// d = 64 (> 32, so the subspace-iteration path is used) with two planted axes.
    @Test(arguments: [64, 200])
    func knownAxesHighDimensional(d: Int) {
        var rng = TestRNG(state: 42)
        var a1 = [Double](repeating: 0, count: d), a2 = a1
        a1[3] = 0.6; a1[d - 10] = 0.8
        a2[3] = 0.8; a2[d - 10] = -0.6
        var pts: [[Float]] = []
        for _ in 0..<400 {
            let t = rng.symmetric() * 10, s = rng.symmetric() * 4
            var p = [Float](repeating: 0, count: d)
            for j in 0..<d { p[j] = Float(t * a1[j] + s * a2[j] + rng.symmetric() * 0.1 + 1) }
            pts.append(p)
        }
        let fit = PCA.fit(pts, components: 2)
        #expect(dot(fit.axes[0], a1) > 0.999)   // sign: largest |entry| positive
        #expect(dot(fit.axes[1], a2) > 0.999)
        #expect(fit.explainedVarianceRatio[0] > fit.explainedVarianceRatio[1])
        #expect(fit.explainedVarianceRatio[0] + fit.explainedVarianceRatio[1] > 0.95)
        // Deterministic.
        #expect(PCA.fit(pts, components: 2) == fit)
    }

    @Test func axesAreOrthonormal() {
        var rng = TestRNG(state: 7)
        let pts: [[Float]] = (0..<200).map { _ in (0..<48).map { j in Float(rng.symmetric() * Double(j % 5 + 1)) } }
        let fit = PCA.fit(pts, components: 4)
        for i in 0..<4 {
            for j in 0..<4 {
                let d = zip(fit.axes[i], fit.axes[j]).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                #expect(abs(d - (i == j ? 1 : 0)) < 1e-4)
            }
        }
        #expect(fit.explainedVariance == fit.explainedVariance.sorted(by: >))
    }

    @Test func signConventionInvariantToNegation() {
        var rng = TestRNG(state: 3)
        let pts: [[Float]] = (0..<50).map { _ in [Float(rng.symmetric() * 5), Float(rng.symmetric()), Float(rng.symmetric() * 2)] }
        let a = PCA.fit(pts), b = PCA.fit(pts.map { $0.map { -$0 } })
        for c in 0..<2 {
            for j in 0..<3 { #expect(abs(a.axes[c][j] - b.axes[c][j]) < 1e-5) }
            let maxIdx = a.axes[c].indices.max { abs(a.axes[c][$0]) < abs(a.axes[c][$1]) }!
            #expect(a.axes[c][maxIdx] > 0)
        }
    }

    @Test func edgeCases() {
        #expect(PCA.project([]) == [])
        #expect(PCA.project([[1, 2, 3]]) == [[0, 0]])
        #expect(PCA.project([[1, 1], [1, 1], [1, 1]]) == [[0, 0], [0, 0], [0, 0]])
        #expect(PCA.explainedVarianceRatio([[1, 1], [1, 1]]) == [0, 0])
        // 1-D data, 2 components requested: second column is zero.
        let p = PCA.project([[1], [2], [3]], components: 2)
        #expect(p.map(\.count) == [2, 2, 2])
        #expect(p.map { $0[1] } == [0, 0, 0])
        #expect(abs(p[0][0] + 1) < 1e-6 && abs(p[2][0] - 1) < 1e-6)
        // NaN / ragged rows don't crash or propagate.
        let q = PCA.project([[1, .nan], [2], [3, 4, 5]])
        #expect(q.allSatisfy { $0.allSatisfy(\.isFinite) })
        #expect(PCA.project([[1, 2]], components: 0) == [[]])
    }

    @Test func reasonablyFast() {
        var rng = TestRNG(state: 11)
        let pts: [[Float]] = (0..<1000).map { _ in (0..<128).map { _ in Float(rng.symmetric()) } }
        let start = Date()
        let out = PCA.project(pts)
        let elapsed = Date().timeIntervalSince(start)
        #expect(out.count == 1000)
        // Debug builds are much slower than release; this is only a smoke bound.
        #expect(elapsed < 20)
        print("PCA 1000×128 (this build): \(String(format: "%.3f", elapsed)) s")
    }

    /// Release-mode timing, only when REPORTS_PCA_BENCH is set.
    @Test func benchmarkIfRequested() {
        guard ProcessInfo.processInfo.environment["REPORTS_PCA_BENCH"] != nil else { return }
        for d in [128, 512] {
            var rng = TestRNG(state: 5)
            let pts: [[Float]] = (0..<1000).map { _ in (0..<d).map { _ in Float(rng.symmetric()) } }
            let start = Date()
            let fit = PCA.fit(pts)
            print("PCA bench 1000×\(d): \(String(format: "%.3f", Date().timeIntervalSince(start))) s, ratio \(fit.explainedVarianceRatio)")
        }
    }
}
