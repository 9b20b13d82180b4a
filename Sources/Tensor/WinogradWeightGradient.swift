import BLAS

extension Winograd {
    /// input [C, N, H, W]; gradOutput [OC, N, H, W]; gradWeight [OC, C, 3, 3] (accumulated into).
    ///
    /// Per tile chunk: V = Bᵀ·d·B (as in forward) and Ĝ = A·∂Y·Aᵀ, then 16 GEMMs
    /// `∂U[ξ] += Ĝ[ξ] · V[ξ]ᵀ` ([OC, tiles] × [tiles, C]); each worker accumulates its own ∂U and the
    /// partial sums are added before the final `∂g = Gᵀ·∂U·G`.
    public static func backwardWeight(
        _ g: ConvGeometry, batch: Int,
        input: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
        gradWeight: UnsafeMutablePointer<Float>,
        pool: ComputePool, scratch: [ScratchBuffer], partials: [ScratchBuffer]
    ) {
        precondition(partials.count >= pool.threads, "Winograd.backwardWeight needs one partial buffer per worker")
        precondition(g.isWinogradCandidate, "Winograd F(2x2,3x3) needs a 3x3 stride-1 pad-1 convolution, got \(g)")
        let tiling = Tiling(g), c = g.inChannels, oc = g.outChannels, size = 16 * oc * c
        let workers = min(pool.threads, batch * tiling.tilesHigh)
        pool.forEachRange(batch * tiling.tilesHigh) { worker, range in
            let capacity = tiling.chunkCapacity
            let buffer = scratch[worker].reserve(16 * (c + oc) * capacity + tiling.rowScratch)
            let v = buffer, dy = buffer + 16 * c * capacity, rows = dy + 16 * oc * capacity
            let du = worker == 0 ? partials[partials.count - 1].reserve(size) : partials[worker - 1].reserve(size)
            du.update(repeating: 0, count: size)
            var r0 = range.lowerBound
            while r0 < range.upperBound {
                let r1 = min(r0 + tiling.rowsPerChunk, range.upperBound)
                let count = (r1 - r0) * tiling.tilesWide
                transformInput(g, batch: batch, input: input, tileRows: r0..<r1, tiling: tiling, into: v, rows: rows)
                transformGradient(g, batch: batch, gradOutput: gradOutput, tileRows: r0..<r1, tiling: tiling, into: dy)
                for xi in 0..<16 {
                    BLAS.sgemm(transB: true, m: oc, n: c, k: count, a: dy + xi * oc * count, lda: count,
                               b: v + xi * c * count, ldb: count, beta: 1, c: du + xi * oc * c, ldc: c)
                }
                r0 = r1
            }
        }
        // Sum the workers' ∂U into the first one's, then map back to 3×3.
        let total = partials[partials.count - 1].reserve(size)
        for worker in 1..<max(workers, 1) {
            let partial = partials[worker - 1].reserve(size)
            for i in 0..<size { total[i] += partial[i] }
        }
        accumulateWeightGradient(total, outChannels: oc, inChannels: c, into: gradWeight)
    }

    /// Ĝ[ξ, o, t] = (A·∂y·Aᵀ)[ξ] for the 2×2 output-gradient tile ∂y of tile t (zero outside the
    /// image), A = [[1,0],[1,1],[1,−1],[0,−1]].
    static func transformGradient(
        _ g: ConvGeometry, batch: Int, gradOutput: UnsafePointer<Float>, tileRows: Range<Int>, tiling: Tiling,
        into out: UnsafeMutablePointer<Float>
    ) {
        let (h, w, tw) = (g.height, g.width, tiling.tilesWide)
        let count = tileRows.count * tw, plane = g.outChannels * count
        for o in 0..<g.outChannels {
            for (localRow, r) in tileRows.enumerated() {
                let n = r / tiling.tilesHigh, ty = r - n * tiling.tilesHigh
                let oy = ty * 2
                let image = gradOutput + (o * batch + n) * h * w
                let row0 = image + oy * w
                let hasSecondRow = oy + 1 < h
                let base = out + o * count + localRow * tw
                for tx in 0..<tw {
                    let ox = tx * 2
                    let hasSecondColumn = ox + 1 < w
                    let a = row0[ox], b = hasSecondColumn ? row0[ox + 1] : 0
                    let c = hasSecondRow ? row0[w + ox] : 0
                    let d = hasSecondRow && hasSecondColumn ? row0[w + ox + 1] : 0
                    // A·∂y: rows [a,b], [a+c,b+d], [a−c,b−d], [−c,−d]; then each row [p,q]·Aᵀ = [p, p+q, p−q, −q].
                    let rowsP = SIMD4<Float>(a, a + c, a - c, -c), rowsQ = SIMD4<Float>(b, b + d, b - d, -d)
                    let col0 = rowsP, col1 = rowsP + rowsQ, col2 = rowsP - rowsQ, col3 = -rowsQ
                    for i in 0..<4 {
                        base[(4 * i + 0) * plane + tx] = col0[i]
                        base[(4 * i + 1) * plane + tx] = col1[i]
                        base[(4 * i + 2) * plane + tx] = col2[i]
                        base[(4 * i + 3) * plane + tx] = col3[i]
                    }
                }
            }
        }
    }
}
