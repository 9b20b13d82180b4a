import BLAS

/// Winograd F(2×2, 3×3) for "same" 3×3 stride-1 convolutions.
///
/// Each 2×2 output tile costs 16 multiplies per (input, output) channel pair instead of 36: the
/// convolution becomes 16 independent GEMMs `M[ξ] = U[ξ] · V[ξ]` of shape [OC, C] × [C, tiles]
/// between transformed weights `U = G·g·Gᵀ` and transformed input tiles `V = Bᵀ·d·B`, followed by
/// the output transform `Y = Aᵀ·M·A`. That is 2.25× fewer multiplications than im2col; the
/// transforms are linear-time and run per worker on cache-sized tile chunks.
public enum Winograd {
    /// weight [OC, C, 3, 3] → U [16, OC, C].
    public static func transformWeights(
        _ weight: UnsafePointer<Float>, outChannels: Int, inChannels: Int, into u: UnsafeMutablePointer<Float>
    ) {
        let plane = outChannels * inChannels
        for o in 0..<outChannels {
            for c in 0..<inChannels {
                let g = weight + (o * inChannels + c) * 9
                // t = G·g  (4×3), G = [[1,0,0],[½,½,½],[½,−½,½],[0,0,1]]
                var t = [Float](repeating: 0, count: 12)
                for j in 0..<3 {
                    let g0 = g[j], g1 = g[3 + j], g2 = g[6 + j]
                    t[j] = g0
                    t[3 + j] = 0.5 * (g0 + g1 + g2)
                    t[6 + j] = 0.5 * (g0 - g1 + g2)
                    t[9 + j] = g2
                }
                // U = t·Gᵀ  (4×4)
                for i in 0..<4 {
                    let t0 = t[i * 3], t1 = t[i * 3 + 1], t2 = t[i * 3 + 2]
                    let row = [t0, 0.5 * (t0 + t1 + t2), 0.5 * (t0 - t1 + t2), t2]
                    for j in 0..<4 { u[(i * 4 + j) * plane + o * inChannels + c] = row[j] }
                }
            }
        }
    }

    /// weight [OC, C, 3, 3] → the weight of the adjoint convolution, [C, OC, 3, 3] rotated 180°.
    /// Backpropagating a same-padded stride-1 3×3 convolution is that convolution, so the data
    /// gradient can reuse the Winograd path.
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

    /// Tiles per worker chunk: the transformed input and output of a chunk stay within ~1 MiB.
    static func chunkTiles(_ g: ConvGeometry) -> Int {
        let perTile = 16 * (g.inChannels + g.outChannels)
        return max(16, min(512, (256 * 1024) / perTile) & ~7)
    }

    /// input [C, N, H, W]; u [16, OC, C] from `transformWeights`; output [OC, N, H, W].
    public static func forward(
        _ g: ConvGeometry, batch: Int,
        input: UnsafePointer<Float>, transformedWeight u: UnsafePointer<Float>,
        epilogue: Epilogue = .none,
        output: UnsafeMutablePointer<Float>,
        pool: ComputePool, scratch: [ScratchBuffer]
    ) {
        precondition(g.isWinogradCandidate, "Winograd F(2x2,3x3) needs a 3x3 stride-1 pad-1 convolution, got \(g)")
        let tilesH = (g.height + 1) / 2, tilesW = (g.width + 1) / 2
        let tilesPerImage = tilesH * tilesW, totalTiles = batch * tilesPerImage
        let chunk = chunkTiles(g)
        let c = g.inChannels, oc = g.outChannels
        pool.forEachRange(totalTiles) { worker, range in
            let buffer = scratch[worker].reserve(16 * (c + oc) * chunk)
            let v = buffer, m = buffer + 16 * c * chunk
            var t0 = range.lowerBound
            while t0 < range.upperBound {
                let t1 = min(t0 + chunk, range.upperBound), count = t1 - t0
                transformInput(g, batch: batch, input: input, tiles: t0..<t1, tilesW: tilesW,
                               tilesPerImage: tilesPerImage, into: v)
                for xi in 0..<16 {
                    BLAS.sgemm(m: oc, n: count, k: c, a: u + xi * oc * c, lda: c,
                               b: v + xi * c * count, ldb: count, c: m + xi * oc * count, ldc: count)
                }
                transformOutput(g, batch: batch, m: m, tiles: t0..<t1, tilesW: tilesW,
                                tilesPerImage: tilesPerImage, epilogue: epilogue, output: output)
                t0 = t1
            }
        }
    }

    /// V[ξ, c, t] = (Bᵀ·d·B)[ξ] for the 4×4 input patch d of tile t, zero outside the image.
    /// Bᵀ = [[1,0,−1,0],[0,1,1,0],[0,−1,1,0],[0,1,0,−1]].
    static func transformInput(
        _ g: ConvGeometry, batch: Int, input: UnsafePointer<Float>, tiles: Range<Int>,
        tilesW: Int, tilesPerImage: Int, into v: UnsafeMutablePointer<Float>
    ) {
        let count = tiles.count, hw = g.inputPlane, h = g.height, w = g.width
        let stride = g.inChannels * count
        for c in 0..<g.inChannels {
            let channel = input + c * batch * hw
            for (local, t) in tiles.enumerated() {
                let n = t / tilesPerImage, r = t - n * tilesPerImage
                let ty = r / tilesW, tx = r - ty * tilesW
                let y0 = ty * 2 - 1, x0 = tx * 2 - 1
                let image = channel + n * hw
                var d = (SIMD4<Float>(), SIMD4<Float>(), SIMD4<Float>(), SIMD4<Float>())
                if y0 >= 0 && x0 >= 0 && y0 + 4 <= h && x0 + 4 <= w {
                    let p = image + y0 * w + x0
                    d.0 = SIMD4(p[0], p[1], p[2], p[3])
                    d.1 = SIMD4(p[w], p[w + 1], p[w + 2], p[w + 3])
                    d.2 = SIMD4(p[2 * w], p[2 * w + 1], p[2 * w + 2], p[2 * w + 3])
                    d.3 = SIMD4(p[3 * w], p[3 * w + 1], p[3 * w + 2], p[3 * w + 3])
                } else {
                    func row(_ y: Int) -> SIMD4<Float> {
                        guard y >= 0 && y < h else { return SIMD4() }
                        var out = SIMD4<Float>()
                        for i in 0..<4 where x0 + i >= 0 && x0 + i < w { out[i] = image[y * w + x0 + i] }
                        return out
                    }
                    d = (row(y0), row(y0 + 1), row(y0 + 2), row(y0 + 3))
                }
                // Rows: Bᵀ·d
                let r0 = d.0 - d.2, r1 = d.1 + d.2, r2 = d.2 - d.1, r3 = d.1 - d.3
                // Columns: (Bᵀ·d)·B, written as 16 scalars at stride C·count.
                let base = v + c * count + local
                @inline(__always) func store(_ i: Int, _ x: SIMD4<Float>) {
                    let out = base + i * 4 * stride
                    out[0] = x[0] - x[2]
                    out[stride] = x[1] + x[2]
                    out[2 * stride] = x[2] - x[1]
                    out[3 * stride] = x[1] - x[3]
                }
                store(0, r0); store(1, r1); store(2, r2); store(3, r3)
            }
        }
    }

    /// Y = Aᵀ·M·A per tile and output channel, Aᵀ = [[1,1,1,0],[0,1,−1,−1]], then the epilogue.
    static func transformOutput(
        _ g: ConvGeometry, batch: Int, m: UnsafePointer<Float>, tiles: Range<Int>,
        tilesW: Int, tilesPerImage: Int, epilogue: Epilogue, output: UnsafeMutablePointer<Float>
    ) {
        let count = tiles.count, hw = g.inputPlane, h = g.height, w = g.width
        let stride = g.outChannels * count, total = batch * hw
        for o in 0..<g.outChannels {
            let bias = epilogue.bias?[o] ?? 0
            for (local, t) in tiles.enumerated() {
                let n = t / tilesPerImage, r = t - n * tilesPerImage
                let ty = r / tilesW, tx = r - ty * tilesW
                let src = m + o * count + local
                @inline(__always) func load(_ i: Int) -> SIMD4<Float> {
                    let p = src + i * 4 * stride
                    return SIMD4(p[0], p[stride], p[2 * stride], p[3 * stride])
                }
                let m0 = load(0), m1 = load(1), m2 = load(2), m3 = load(3)
                let s0 = m0 + m1 + m2, s1 = m1 - m2 - m3
                var y00 = s0[0] + s0[1] + s0[2] + bias, y01 = s0[1] - s0[2] - s0[3] + bias
                var y10 = s1[0] + s1[1] + s1[2] + bias, y11 = s1[1] - s1[2] - s1[3] + bias
                let oy = ty * 2, ox = tx * 2
                let offset = o * total + n * hw + oy * w + ox
                let fullTile = oy + 1 < h && ox + 1 < w
                if let residual = epilogue.residual {
                    let res = residual + offset
                    y00 += res[0]
                    if ox + 1 < w { y01 += res[1] }
                    if oy + 1 < h { y10 += res[w] }
                    if fullTile { y11 += res[w + 1] }
                }
                if epilogue.relu {
                    y00 = max(y00, 0); y01 = max(y01, 0); y10 = max(y10, 0); y11 = max(y11, 0)
                }
                let dst = output + offset
                dst[0] = y00
                if ox + 1 < w { dst[1] = y01 }
                if oy + 1 < h { dst[w] = y10 }
                if fullTile { dst[w + 1] = y11 }
            }
        }
    }
}
