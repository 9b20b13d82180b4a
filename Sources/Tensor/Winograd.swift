import BLAS

/// Winograd F(2×2, 3×3) for "same" 3×3 stride-1 convolutions (Lavin & Gray 2016).
///
/// Each 2×2 output tile costs 16 multiplies per (input, output) channel pair instead of 36: the
/// convolution becomes 16 independent GEMMs `M[ξ] = U[ξ] · V[ξ]` of shape [OC, C] × [C, tiles]
/// between transformed weights `U = G·g·Gᵀ` and transformed input tiles `V = Bᵀ·d·B`, followed by
/// the output transform `Y = Aᵀ·M·A`. The weight gradient is the same 16 GEMMs transposed:
/// `∂U[ξ] = Σ_tiles (A·∂Y·Aᵀ)[ξ] · V[ξ]ᵀ`, then `∂g = Gᵀ·∂U·G`.
///
/// Work is split over *tile rows* (one row of 2×2 tiles of one image). The transforms run a whole
/// tile row at a time so their inner loops are contiguous over tiles and vectorise.
public enum Winograd {
    /// Tiles per GEMM call: the transformed input and output of a chunk stay within ~1 MiB.
    static func chunkTiles(_ g: ConvGeometry) -> Int {
        max(32, min(1024, (256 * 1024) / (16 * (g.inChannels + g.outChannels))))
    }

    struct Tiling {
        let tilesHigh: Int, tilesWide: Int
        let rowsPerChunk: Int
        init(_ g: ConvGeometry) {
            tilesHigh = (g.height + 1) / 2
            tilesWide = (g.width + 1) / 2
            rowsPerChunk = max(1, Winograd.chunkTiles(g) / tilesWide)
        }
        var chunkCapacity: Int { rowsPerChunk * tilesWide }
        /// Floats of per-row scratch the transforms use: 8 padded rows.
        var rowScratch: Int { 8 * (2 * tilesWide + 4) }
    }

    // MARK: Forward

    /// input [C, N, H, W]; u [16, OC, C] from `transformWeights`; output [OC, N, H, W].
    public static func forward(
        _ g: ConvGeometry, batch: Int,
        input: UnsafePointer<Float>, transformedWeight u: UnsafePointer<Float>,
        epilogue: Epilogue = .none,
        output: UnsafeMutablePointer<Float>,
        pool: ComputePool, scratch: [ScratchBuffer]
    ) {
        precondition(g.isWinogradCandidate, "Winograd F(2x2,3x3) needs a 3x3 stride-1 pad-1 convolution, got \(g)")
        let tiling = Tiling(g), c = g.inChannels, oc = g.outChannels
        pool.forEachRange(batch * tiling.tilesHigh) { worker, range in
            let capacity = tiling.chunkCapacity
            let buffer = scratch[worker].reserve(16 * (c + oc) * capacity + tiling.rowScratch)
            let v = buffer, m = buffer + 16 * c * capacity, rows = m + 16 * oc * capacity
            var r0 = range.lowerBound
            while r0 < range.upperBound {
                let r1 = min(r0 + tiling.rowsPerChunk, range.upperBound)
                let count = (r1 - r0) * tiling.tilesWide
                transformInput(g, batch: batch, input: input, tileRows: r0..<r1, tiling: tiling, into: v, rows: rows)
                for xi in 0..<16 {
                    BLAS.sgemm(m: oc, n: count, k: c, a: u + xi * oc * c, lda: c,
                               b: v + xi * c * count, ldb: count, c: m + xi * oc * count, ldc: count)
                }
                transformOutput(g, batch: batch, m: m, tileRows: r0..<r1, tiling: tiling,
                                epilogue: epilogue, output: output, rows: rows)
                r0 = r1
            }
        }
    }

    /// V[ξ, c, t] = (Bᵀ·d·B)[ξ] for the 4×4 input patch d of each tile t in `tileRows`, zero
    /// outside the image. Bᵀ = [[1,0,−1,0],[0,1,1,0],[0,−1,1,0],[0,1,0,−1]].
    static func transformInput(
        _ g: ConvGeometry, batch: Int, input: UnsafePointer<Float>, tileRows: Range<Int>, tiling: Tiling,
        into v: UnsafeMutablePointer<Float>, rows: UnsafeMutablePointer<Float>
    ) {
        let (h, w, tw) = (g.height, g.width, tiling.tilesWide)
        let count = tileRows.count * tw, plane = g.inChannels * count
        let padded = 2 * tw + 2  // columns −1 … 2·tw
        let p = (rows, rows + padded, rows + 2 * padded, rows + 3 * padded)
        for c in 0..<g.inChannels {
            for (localRow, r) in tileRows.enumerated() {
                let n = r / tiling.tilesHigh, ty = r - n * tiling.tilesHigh
                let image = input + (c * batch + n) * h * w
                // The four input rows of this tile row, zero-padded on both sides.
                for i in 0..<4 {
                    let dst = i == 0 ? p.0 : i == 1 ? p.1 : i == 2 ? p.2 : p.3
                    let y = ty * 2 - 1 + i
                    dst.update(repeating: 0, count: padded)
                    if y >= 0 && y < h { (dst + 1).update(from: image + y * w, count: w) }
                }
                // Bᵀ·d on rows, in place: q0 = d0 − d2, q1 = d1 + d2, q2 = d2 − d1, q3 = d1 − d3.
                for x in 0..<padded {
                    let d0 = p.0[x], d1 = p.1[x], d2 = p.2[x], d3 = p.3[x]
                    p.0[x] = d0 - d2
                    p.1[x] = d1 + d2
                    p.2[x] = d2 - d1
                    p.3[x] = d1 - d3
                }
                // (Bᵀ·d)·B on columns: tile tx reads padded columns 2tx … 2tx+3.
                let base = v + c * count + localRow * tw
                for i in 0..<4 {
                    let q = i == 0 ? p.0 : i == 1 ? p.1 : i == 2 ? p.2 : p.3
                    let o0 = base + (4 * i) * plane, o1 = o0 + plane, o2 = o1 + plane, o3 = o2 + plane
                    for tx in 0..<tw {
                        let a0 = q[2 * tx], a1 = q[2 * tx + 1], a2 = q[2 * tx + 2], a3 = q[2 * tx + 3]
                        o0[tx] = a0 - a2
                        o1[tx] = a1 + a2
                        o2[tx] = a2 - a1
                        o3[tx] = a1 - a3
                    }
                }
            }
        }
    }

    /// Y = Aᵀ·M·A per tile and output channel, Aᵀ = [[1,1,1,0],[0,1,−1,−1]], then the epilogue.
    static func transformOutput(
        _ g: ConvGeometry, batch: Int, m: UnsafePointer<Float>, tileRows: Range<Int>, tiling: Tiling,
        epilogue: Epilogue, output: UnsafeMutablePointer<Float>, rows: UnsafeMutablePointer<Float>
    ) {
        let (h, w, tw) = (g.height, g.width, tiling.tilesWide)
        let count = tileRows.count * tw, plane = g.outChannels * count, total = batch * h * w
        let top = rows, bottom = rows + 2 * tw
        for o in 0..<g.outChannels {
            let bias = epilogue.bias?[o] ?? 0
            for (localRow, r) in tileRows.enumerated() {
                let n = r / tiling.tilesHigh, ty = r - n * tiling.tilesHigh
                let src = m + o * count + localRow * tw
                // Four tiles at a time: each of the 16 streams is contiguous over tiles.
                var tx = 0
                while tx + 4 <= tw {
                    @inline(__always) func at(_ xi: Int) -> SIMD4<Float> {
                        UnsafeRawPointer(src + xi * plane + tx).loadUnaligned(as: SIMD4<Float>.self)
                    }
                    let s00 = at(0) + at(4) + at(8), s01 = at(1) + at(5) + at(9)
                    let s02 = at(2) + at(6) + at(10), s03 = at(3) + at(7) + at(11)
                    let y00 = s00 + s01 + s02 + bias, y01 = s01 - s02 - s03 + bias
                    let s10 = at(4) - at(8) - at(12), s11 = at(5) - at(9) - at(13)
                    let s12 = at(6) - at(10) - at(14), s13 = at(7) - at(11) - at(15)
                    let y10 = s10 + s11 + s12 + bias, y11 = s11 - s12 - s13 + bias
                    UnsafeMutableRawPointer(top + 2 * tx).storeBytes(
                        of: SIMD8(y00[0], y01[0], y00[1], y01[1], y00[2], y01[2], y00[3], y01[3]), as: SIMD8<Float>.self)
                    UnsafeMutableRawPointer(bottom + 2 * tx).storeBytes(
                        of: SIMD8(y10[0], y11[0], y10[1], y11[1], y10[2], y11[2], y10[3], y11[3]), as: SIMD8<Float>.self)
                    tx += 4
                }
                while tx < tw {
                    @inline(__always) func at(_ xi: Int) -> Float { src[xi * plane + tx] }
                    let s00 = at(0) + at(4) + at(8), s01 = at(1) + at(5) + at(9)
                    let s02 = at(2) + at(6) + at(10), s03 = at(3) + at(7) + at(11)
                    let s10 = at(4) - at(8) - at(12), s11 = at(5) - at(9) - at(13)
                    let s12 = at(6) - at(10) - at(14), s13 = at(7) - at(11) - at(15)
                    top[2 * tx] = s00 + s01 + s02 + bias
                    top[2 * tx + 1] = s01 - s02 - s03 + bias
                    bottom[2 * tx] = s10 + s11 + s12 + bias
                    bottom[2 * tx + 1] = s11 - s12 - s13 + bias
                    tx += 1
                }
                let oy = ty * 2
                for dy in 0..<min(2, h - oy) {
                    let row = dy == 0 ? top : bottom
                    let offset = o * total + n * h * w + (oy + dy) * w
                    let dst = output + offset
                    if let residual = epilogue.residual {
                        let res = residual + offset
                        if epilogue.relu {
                            for x in 0..<w { dst[x] = max(row[x] + res[x], 0) }
                        } else {
                            for x in 0..<w { dst[x] = row[x] + res[x] }
                        }
                    } else if epilogue.relu {
                        for x in 0..<w { dst[x] = max(row[x], 0) }
                    } else {
                        dst.update(from: row, count: w)
                    }
                }
            }
        }
    }

    // MARK: Weights

    /// weight [OC, C, 3, 3] → U [16, OC, C], U = G·g·Gᵀ with G = [[1,0,0],[½,½,½],[½,−½,½],[0,0,1]].
    public static func transformWeights(
        _ weight: UnsafePointer<Float>, outChannels: Int, inChannels: Int, into u: UnsafeMutablePointer<Float>
    ) {
        let plane = outChannels * inChannels
        for k in 0..<plane {
            let g = weight + k * 9
            var t = (SIMD4<Float>(), SIMD4<Float>(), SIMD4<Float>())  // columns of G·g
            for j in 0..<3 {
                let g0 = g[j], g1 = g[3 + j], g2 = g[6 + j]
                let column = SIMD4<Float>(g0, 0.5 * (g0 + g1 + g2), 0.5 * (g0 - g1 + g2), g2)
                if j == 0 { t.0 = column } else if j == 1 { t.1 = column } else { t.2 = column }
            }
            // (G·g)·Gᵀ: combine the three columns the same way.
            let c0 = t.0, c1 = 0.5 * (t.0 + t.1 + t.2), c2 = 0.5 * (t.0 - t.1 + t.2), c3 = t.2
            for i in 0..<4 {
                u[(i * 4 + 0) * plane + k] = c0[i]
                u[(i * 4 + 1) * plane + k] = c1[i]
                u[(i * 4 + 2) * plane + k] = c2[i]
                u[(i * 4 + 3) * plane + k] = c3[i]
            }
        }
    }

    /// dU [16, OC, C] → dW [OC, C, 3, 3] added into `gradWeight`: ∂g = Gᵀ·∂U·G.
    static func accumulateWeightGradient(
        _ du: UnsafePointer<Float>, outChannels: Int, inChannels: Int, into gradWeight: UnsafeMutablePointer<Float>
    ) {
        let plane = outChannels * inChannels
        // Gᵀ = [[1,½,½,0],[0,½,−½,0],[0,½,½,1]]
        for k in 0..<plane {
            @inline(__always) func row(_ i: Int) -> SIMD4<Float> {
                SIMD4(du[(4 * i) * plane + k], du[(4 * i + 1) * plane + k],
                      du[(4 * i + 2) * plane + k], du[(4 * i + 3) * plane + k])
            }
            let x0 = row(0), x1 = row(1), x2 = row(2), x3 = row(3)
            // Gᵀ·X (3×4): rows x0 + ½(x1 + x2), ½(x1 − x2), ½(x1 + x2) + x3
            let r0 = x0 + 0.5 * (x1 + x2), r1 = 0.5 * (x1 - x2), r2 = 0.5 * (x1 + x2) + x3
            let dst = gradWeight + k * 9
            // (Gᵀ·X)·G on columns the same way.
            @inline(__always) func store(_ a: Int, _ r: SIMD4<Float>) {
                dst[a * 3] += r[0] + 0.5 * (r[1] + r[2])
                dst[a * 3 + 1] += 0.5 * (r[1] - r[2])
                dst[a * 3 + 2] += 0.5 * (r[1] + r[2]) + r[3]
            }
            store(0, r0); store(1, r1); store(2, r2)
        }
    }

    /// weight [OC, C, 3, 3] → the weight of the adjoint convolution, [C, OC, 3, 3] rotated 180°.
    /// Backpropagating a same-padded stride-1 3×3 convolution to its input is that convolution, so
    /// the data gradient reuses `forward`.
    public static func adjointWeights(
        _ weight: UnsafePointer<Float>, outChannels: Int, inChannels: Int, into adjoint: UnsafeMutablePointer<Float>
    ) {
        for o in 0..<outChannels {
            for c in 0..<inChannels {
                let src = weight + (o * inChannels + c) * 9
                let dst = adjoint + (c * outChannels + o) * 9
                for k in 0..<9 { dst[k] = src[8 - k] }
            }
        }
    }
}
