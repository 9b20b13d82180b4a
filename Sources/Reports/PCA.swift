import Foundation

/// Result of fitting PCA.
public struct PCAResult: Sendable, Equatable {
    /// Points projected onto the principal axes; each row has exactly `components` entries
    /// (trailing zeros if the data has fewer dimensions than requested components).
    public var projected: [[Float]]
    /// Principal axes (unit vectors, length `dimension`), one per returned component,
    /// ordered by decreasing variance. Sign convention: the entry with the largest absolute
    /// value is positive (earliest index wins ties).
    public var axes: [[Float]]
    /// Variance along each axis (eigenvalues of the sample covariance, divisor n-1).
    public var explainedVariance: [Double]
    /// `explainedVariance / total variance` (0 when the total variance is 0).
    public var explainedVarianceRatio: [Double]
    /// Per-dimension mean that was subtracted.
    public var mean: [Float]

    public init(projected: [[Float]], axes: [[Float]], explainedVariance: [Double],
                explainedVarianceRatio: [Double], mean: [Float]) {
        self.projected = projected
        self.axes = axes
        self.explainedVariance = explainedVariance
        self.explainedVarianceRatio = explainedVarianceRatio
        self.mean = mean
    }
}

/// Principal component analysis for small/medium data (d up to a few hundred).
///
/// Algorithm: centre, accumulate the d×d covariance in `Double`, then find the top
/// eigenpairs by block (subspace) iteration with Rayleigh–Ritz (a cyclic Jacobi
/// eigen-solver on the small projected matrix). For d ≤ 32 the block spans the whole
/// space, so the result is an exact Jacobi diagonalisation. Deterministic: the start
/// block comes from a fixed-seed generator and signs are normalised.
///
/// Robustness: rows shorter than the first row are zero-padded, longer ones truncated;
/// non-finite values are treated as 0.
public enum PCA {
    /// Projects `points` onto their top `components` principal axes.
    public static func project(_ points: [[Float]], components: Int = 2) -> [[Float]] {
        fit(points, components: components).projected
    }

    /// Fraction of the total variance explained by each of the top `components` axes.
    public static func explainedVarianceRatio(_ points: [[Float]], components: Int = 2) -> [Double] {
        fit(points, components: components).explainedVarianceRatio
    }

    /// Full fit: projection, axes, explained variance (and ratio), mean.
    public static func fit(_ points: [[Float]], components: Int = 2) -> PCAResult {
        let n = points.count
        let k = max(0, components)
        guard n > 0, let d = points.first?.count, d > 0, k > 0 else {
            return PCAResult(projected: points.map { _ in Array(repeating: 0, count: k) },
                             axes: [], explainedVariance: [], explainedVarianceRatio: [],
                             mean: Array(repeating: 0, count: points.first?.count ?? 0))
        }
        let kEff = min(k, d)

        // Centred data, flattened n×d, in Double.
        var x = [Double](repeating: 0, count: n * d)
        var mean = [Double](repeating: 0, count: d)
        for (i, row) in points.enumerated() {
            let m = min(d, row.count)
            for j in 0..<m {
                let v = Double(row[j])
                let vv = v.isFinite ? v : 0
                x[i * d + j] = vv
                mean[j] += vv
            }
        }
        for j in 0..<d { mean[j] /= Double(n) }
        x.withUnsafeMutableBufferPointer { xb in
            for i in 0..<n {
                for j in 0..<d { xb[i * d + j] -= mean[j] }
            }
        }

        // Covariance (upper triangle accumulation, then mirror).
        var cov = [Double](repeating: 0, count: d * d)
        x.withUnsafeBufferPointer { xb in
            cov.withUnsafeMutableBufferPointer { cb in
                for i in 0..<n {
                    let row = xb.baseAddress! + i * d
                    for a in 0..<d {
                        let xa = row[a]
                        if xa == 0 { continue }
                        let cRow = cb.baseAddress! + a * d
                        for b in a..<d { cRow[b] += xa * row[b] }
                    }
                }
                let denom = Double(max(n - 1, 1))
                for a in 0..<d {
                    for b in a..<d {
                        let v = cb[a * d + b] / denom
                        cb[a * d + b] = v
                        cb[b * d + a] = v
                    }
                }
            }
        }
        var trace = 0.0
        for a in 0..<d { trace += cov[a * d + a] }

        let (values, vectors) = topEigen(symmetric: cov, dimension: d, count: kEff)

        // Sign convention + projection.
        var axes: [[Double]] = vectors
        for c in 0..<axes.count {
            var bestIdx = 0
            var bestAbs = -1.0
            for (j, v) in axes[c].enumerated() where abs(v) > bestAbs + 1e-12 {
                bestAbs = abs(v); bestIdx = j
            }
            if axes[c][bestIdx] < 0 { axes[c] = axes[c].map { -$0 } }
        }
        var projected = [[Float]](repeating: [Float](repeating: 0, count: k), count: n)
        x.withUnsafeBufferPointer { xb in
            for i in 0..<n {
                let row = xb.baseAddress! + i * d
                for c in 0..<axes.count {
                    var s = 0.0
                    axes[c].withUnsafeBufferPointer { ab in
                        for j in 0..<d { s += row[j] * ab[j] }
                    }
                    projected[i][c] = Float(s)
                }
            }
        }
        let variances = values.map { max(0, $0) }
        let ratios = variances.map { trace > 0 ? $0 / trace : 0 }
        return PCAResult(projected: projected,
                         axes: axes.map { $0.map(Float.init) },
                         explainedVariance: variances,
                         explainedVarianceRatio: ratios,
                         mean: mean.map(Float.init))
    }

    // MARK: - Eigen solvers

    /// Top `count` eigenpairs of a symmetric `dimension`×`dimension` matrix (row-major),
    /// eigenvalues descending. Vectors are unit length.
    static func topEigen(symmetric a: [Double], dimension d: Int, count k: Int) -> ([Double], [[Double]]) {
        let p = d <= 32 ? d : min(d, k + 8)
        var rng = SplitMix64(seed: 0x5EED_BA5E_D0C5_1234)
        // Q: d×p column-major (column c at c*d).
        var q = [Double](repeating: 0, count: d * p)
        if p == d {
            for c in 0..<d { q[c * d + c] = 1 }
        } else {
            for i in 0..<(d * p) { q[i] = rng.nextDouble() * 2 - 1 }
            orthonormalize(&q, rows: d, cols: p, rng: &rng)
        }
        var z = [Double](repeating: 0, count: d * p)
        var theta = [Double](repeating: 0, count: p)
        let maxIter = p == d ? 1 : 300
        for _ in 0..<maxIter {
            multiply(a, q, into: &z, d: d, p: p)
            // T = Qᵀ Z (p×p)
            var t = [Double](repeating: 0, count: p * p)
            for i in 0..<p {
                for j in i..<p {
                    var s = 0.0
                    for r in 0..<d { s += q[i * d + r] * z[j * d + r] }
                    t[i * p + j] = s
                }
            }
            for i in 0..<p { for j in 0..<i { t[i * p + j] = t[j * p + i] } }
            let (vals, v) = jacobiEigen(t, n: p)   // v column-major p×p, vals descending
            theta = vals
            q = rotate(q, by: v, d: d, p: p)
            z = rotate(z, by: v, d: d, p: p)
            // Residual for the wanted eigenpairs.
            let scale = max(abs(theta[0]), 1e-300)
            var converged = true
            for c in 0..<k {
                var r2 = 0.0
                for r in 0..<d {
                    let e = z[c * d + r] - theta[c] * q[c * d + r]
                    r2 += e * e
                }
                if r2.squareRoot() > 1e-6 * scale { converged = false; break }
            }
            if converged || p == d { break }
            q = z
            orthonormalize(&q, rows: d, cols: p, rng: &rng)
        }
        var vectors: [[Double]] = []
        for c in 0..<k { vectors.append(Array(q[(c * d)..<(c * d + d)])) }
        return (Array(theta.prefix(k)), vectors)
    }

    /// z = A q  (A d×d row-major, q/z d×p column-major).
    private static func multiply(_ a: [Double], _ q: [Double], into z: inout [Double], d: Int, p: Int) {
        a.withUnsafeBufferPointer { ab in
            q.withUnsafeBufferPointer { qb in
                z.withUnsafeMutableBufferPointer { zb in
                    // Row-outer order: each row of A is loaded once and reused for all p columns.
                    for r in 0..<d {
                        let ar = ab.baseAddress! + r * d
                        for c in 0..<p {
                            let qc = qb.baseAddress! + c * d
                            var s0 = 0.0, s1 = 0.0
                            var j = 0
                            while j + 1 < d {
                                s0 += ar[j] * qc[j]
                                s1 += ar[j + 1] * qc[j + 1]
                                j += 2
                            }
                            if j < d { s0 += ar[j] * qc[j] }
                            zb[c * d + r] = s0 + s1
                        }
                    }
                }
            }
        }
    }

    /// Returns m·v where m is d×p column-major and v is p×p column-major.
    private static func rotate(_ m: [Double], by v: [Double], d: Int, p: Int) -> [Double] {
        var out = [Double](repeating: 0, count: d * p)
        for c in 0..<p {
            for j in 0..<p {
                let w = v[c * p + j]
                if w == 0 { continue }
                for r in 0..<d { out[c * d + r] += m[j * d + r] * w }
            }
        }
        return out
    }

    /// Modified Gram–Schmidt (twice for stability) on column-major d×p; degenerate columns
    /// are replaced by fresh random vectors.
    private static func orthonormalize(_ q: inout [Double], rows d: Int, cols p: Int, rng: inout SplitMix64) {
        for c in 0..<p {
            var attempts = 0
            while true {
                for _ in 0..<2 {
                    for j in 0..<c {
                        var dot = 0.0
                        for r in 0..<d { dot += q[j * d + r] * q[c * d + r] }
                        for r in 0..<d { q[c * d + r] -= dot * q[j * d + r] }
                    }
                }
                var norm = 0.0
                for r in 0..<d { norm += q[c * d + r] * q[c * d + r] }
                norm = norm.squareRoot()
                if norm > 1e-10 || attempts > 5 {
                    let inv = norm > 0 ? 1 / norm : 0
                    for r in 0..<d { q[c * d + r] *= inv }
                    break
                }
                attempts += 1
                for r in 0..<d { q[c * d + r] = rng.nextDouble() * 2 - 1 }
            }
        }
    }

    /// Cyclic Jacobi eigen-decomposition of a symmetric n×n matrix (row-major).
    /// Returns eigenvalues (descending) and eigenvectors (column-major n×n, column i ↔ value i).
    static func jacobiEigen(_ input: [Double], n: Int) -> ([Double], [Double]) {
        var a = input
        var v = [Double](repeating: 0, count: n * n)
        for i in 0..<n { v[i * n + i] = 1 }   // v[col * n + row]
        if n > 1 {
            for _ in 0..<100 {
                var off = 0.0, diag = 0.0
                for i in 0..<n {
                    diag += a[i * n + i] * a[i * n + i]
                    for j in (i + 1)..<n where j < n { off += a[i * n + j] * a[i * n + j] }
                }
                if off <= 1e-30 * max(diag, 1e-300) || off == 0 { break }
                for pp in 0..<(n - 1) {
                    for qq in (pp + 1)..<n {
                        let apq = a[pp * n + qq]
                        if apq == 0 { continue }
                        let app = a[pp * n + pp], aqq = a[qq * n + qq]
                        let tau = (aqq - app) / (2 * apq)
                        let t = (tau >= 0 ? 1.0 : -1.0) / (abs(tau) + (1 + tau * tau).squareRoot())
                        let c = 1 / (1 + t * t).squareRoot()
                        let s = t * c
                        for r in 0..<n {
                            let arp = a[r * n + pp], arq = a[r * n + qq]
                            a[r * n + pp] = c * arp - s * arq
                            a[r * n + qq] = s * arp + c * arq
                        }
                        for r in 0..<n {
                            let apr = a[pp * n + r], aqr = a[qq * n + r]
                            a[pp * n + r] = c * apr - s * aqr
                            a[qq * n + r] = s * apr + c * aqr
                        }
                        for r in 0..<n {
                            let vp = v[pp * n + r], vq = v[qq * n + r]
                            v[pp * n + r] = c * vp - s * vq
                            v[qq * n + r] = s * vp + c * vq
                        }
                    }
                }
            }
        }
        let order = (0..<n).sorted { a[$0 * n + $0] > a[$1 * n + $1] || (a[$0 * n + $0] == a[$1 * n + $1] && $0 < $1) }
        var vals = [Double](), vecs = [Double](repeating: 0, count: n * n)
        for (newCol, old) in order.enumerated() {
            vals.append(a[old * n + old])
            for r in 0..<n { vecs[newCol * n + r] = v[old * n + r] }
        }
        return (vals, vecs)
    }
}

/// Small deterministic PRNG (SplitMix64).
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E9B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func nextDouble() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}
