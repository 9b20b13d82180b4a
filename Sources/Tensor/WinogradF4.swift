/// The F(4×4, 3×3) transforms the weight gradient uses: 6×6 input tiles, 4×4 output tiles, 36 GEMMs;
/// 4× fewer multiplications than direct convolution. The forward pass runs in CKernels
/// (kernels_template.h), which computes the same Bᵀ·d·B and Aᵀ·M·A at the CPU's vector width.
///
/// Bᵀ = [[4,0,−5,0,1,0],[0,−4,−4,1,1,0],[0,4,−4,−1,1,0],[0,−2,−1,2,1,0],[0,2,−1,−2,1,0],[0,4,0,−5,0,1]]
/// Aᵀ = [[1,1,1,1,1,0],[0,1,−1,2,−2,0],[0,1,1,4,4,0],[0,1,−1,8,−8,1]]
enum WinogradF4: WinogradTransforms {
    static let tile = 4
    static let g: [[Float]] = [
        [1.0 / 4, 0, 0],
        [-1.0 / 6, -1.0 / 6, -1.0 / 6],
        [-1.0 / 6, 1.0 / 6, -1.0 / 6],
        [1.0 / 24, 1.0 / 12, 1.0 / 6],
        [1.0 / 24, -1.0 / 12, 1.0 / 6],
        [0, 0, 1],
    ]

    /// V[ξ, c, t] = (Bᵀ·d·B)[ξ] for the 6×6 input patch d (rows 4ty−1 …, columns 4tx−1 …) of each tile.
    ///
    /// Each input row is first split into four phase arrays, `P_k[j] = row[4j + k − 1]`, so tile tx
    /// reads `P_0[tx], P_1[tx], P_2[tx], P_3[tx], P_0[tx+1], P_1[tx+1]`: every access in the column
    /// transform is unit-stride over tiles and runs four tiles per SIMD instruction.
    static func transformInput(
        _ g: ConvGeometry, batch: Int, input: UnsafePointer<Float>, tileRows: Range<Int>,
        tiling: Winograd.Tiling, into v: UnsafeMutablePointer<Float>, rows: UnsafeMutablePointer<Float>
    ) {
        let (h, w, tw) = (g.height, g.width, tiling.tilesWide)
        let count = tileRows.count * tw, plane = g.inChannels * count
        let phase = tw + 1, rowLength = 4 * phase
        @inline(__always) func d(_ i: Int) -> UnsafeMutablePointer<Float> { rows + i * rowLength }
        @inline(__always) func q(_ i: Int) -> UnsafeMutablePointer<Float> { rows + (6 + i) * rowLength }
        for c in 0..<g.inChannels {
            for (localRow, r) in tileRows.enumerated() {
                let n = r / tiling.tilesHigh, ty = r - n * tiling.tilesHigh
                let image = input + (c * batch + n) * h * w
                Winograd.loadPhaseRows(image, height: h, width: w, tileRow: ty, tile: 4, phaseLength: phase, into: rows)
                // Bᵀ·d on rows, elementwise over the phase arrays.
                var x = 0
                while x < rowLength {
                    let lanes = min(4, rowLength - x)
                    let a0 = load(d(0) + x, lanes), a1 = load(d(1) + x, lanes), a2 = load(d(2) + x, lanes)
                    let a3 = load(d(3) + x, lanes), a4 = load(d(4) + x, lanes), a5 = load(d(5) + x, lanes)
                    store(4 * a0 - 5 * a2 + a4, q(0) + x, lanes)
                    store(-4 * (a1 + a2) + a3 + a4, q(1) + x, lanes)
                    store(4 * (a1 - a2) - a3 + a4, q(2) + x, lanes)
                    store(2 * (a3 - a1) - a2 + a4, q(3) + x, lanes)
                    store(2 * (a1 - a3) - a2 + a4, q(4) + x, lanes)
                    store(4 * a1 - 5 * a3 + a5, q(5) + x, lanes)
                    x += lanes
                }
                // (Bᵀ·d)·B on columns, four tiles at a time.
                let base = v + c * count + localRow * tw
                for i in 0..<6 {
                    let row = q(i)
                    let out = base + (6 * i) * plane
                    var tx = 0
                    while tx < tw {
                        let lanes = min(4, tw - tx)
                        let a0 = load(row + tx, lanes), a1 = load(row + phase + tx, lanes)
                        let a2 = load(row + 2 * phase + tx, lanes), a3 = load(row + 3 * phase + tx, lanes)
                        let a4 = load(row + tx + 1, lanes), a5 = load(row + phase + tx + 1, lanes)
                        store(4 * a0 - 5 * a2 + a4, out + tx, lanes)
                        store(-4 * (a1 + a2) + a3 + a4, out + plane + tx, lanes)
                        store(4 * (a1 - a2) - a3 + a4, out + 2 * plane + tx, lanes)
                        store(2 * (a3 - a1) - a2 + a4, out + 3 * plane + tx, lanes)
                        store(2 * (a1 - a3) - a2 + a4, out + 4 * plane + tx, lanes)
                        store(4 * a1 - 5 * a3 + a5, out + 5 * plane + tx, lanes)
                        tx += lanes
                    }
                }
            }
        }
    }

    /// Ĝ[ξ, o, t] = (A·∂y·Aᵀ)[ξ] for the 4×4 output-gradient tile ∂y (zero outside the image).
    /// A·y for a 4-vector y is (y0, Σy, y0−y1+y2−y3, y0+2y1+4y2+8y3, y0−2y1+4y2−8y3, y3).
    /// Rows are phase-split (`P_k[tx] = row[4tx + k]`) so four tiles go through each SIMD op.
    static func transformGradient(
        _ g: ConvGeometry, batch: Int, gradOutput: UnsafePointer<Float>, tileRows: Range<Int>,
        tiling: Winograd.Tiling, into out: UnsafeMutablePointer<Float>, rows: UnsafeMutablePointer<Float>
    ) {
        let (h, w, tw) = (g.height, g.width, tiling.tilesWide)
        let count = tileRows.count * tw, plane = g.outChannels * count
        let phase = tw + 1, rowLength = 4 * phase
        @inline(__always) func expand(_ y0: SIMD4<Float>, _ y1: SIMD4<Float>, _ y2: SIMD4<Float>, _ y3: SIMD4<Float>)
            -> (SIMD4<Float>, SIMD4<Float>, SIMD4<Float>, SIMD4<Float>, SIMD4<Float>, SIMD4<Float>) {
            let p02 = y0 + y2, p13 = y1 + y3, q02 = y0 + 4 * y2, q13 = 2 * y1 + 8 * y3
            return (y0, p02 + p13, p02 - p13, q02 + q13, q02 - q13, y3)
        }
        for o in 0..<g.outChannels {
            for (localRow, r) in tileRows.enumerated() {
                let n = r / tiling.tilesHigh, ty = r - n * tiling.tilesHigh
                let image = gradOutput + (o * batch + n) * h * w
                for rr in 0..<4 {
                    let y = ty * 4 + rr, dst = rows + rr * rowLength
                    if y < h {
                        deinterleave(image + y * w, width: w, phases: 4, length: phase, leftPadding: 0, into: dst)
                    } else {
                        dst.update(repeating: 0, count: rowLength)
                    }
                }
                let base = out + o * count + localRow * tw
                var tx = 0
                while tx < tw {
                    let lanes = min(4, tw - tx)
                    @inline(__always) func row(_ rr: Int) -> (SIMD4<Float>, SIMD4<Float>, SIMD4<Float>, SIMD4<Float>, SIMD4<Float>, SIMD4<Float>) {
                        let p = rows + rr * rowLength + tx
                        return expand(load(p, lanes), load(p + phase, lanes), load(p + 2 * phase, lanes), load(p + 3 * phase, lanes))
                    }
                    let e0 = row(0), e1 = row(1), e2 = row(2), e3 = row(3)
                    @inline(__always) func column(_ j: Int, _ a: SIMD4<Float>, _ b: SIMD4<Float>, _ c: SIMD4<Float>, _ d: SIMD4<Float>) {
                        let v = expand(a, b, c, d)
                        let p = base + j * plane + tx
                        store(v.0, p, lanes)
                        store(v.1, p + 6 * plane, lanes)
                        store(v.2, p + 12 * plane, lanes)
                        store(v.3, p + 18 * plane, lanes)
                        store(v.4, p + 24 * plane, lanes)
                        store(v.5, p + 30 * plane, lanes)
                    }
                    column(0, e0.0, e1.0, e2.0, e3.0)
                    column(1, e0.1, e1.1, e2.1, e3.1)
                    column(2, e0.2, e1.2, e2.2, e3.2)
                    column(3, e0.3, e1.3, e2.3, e3.3)
                    column(4, e0.4, e1.4, e2.4, e3.4)
                    column(5, e0.5, e1.5, e2.5, e3.5)
                    tx += lanes
                }
            }
        }
    }
}
