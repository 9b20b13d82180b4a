/// The F(2×2, 3×3) transforms: 4×4 input tiles, 2×2 output tiles, 16 GEMMs.
enum WinogradF2: WinogradTransforms {
    static let tile = 2
    /// G = [[1,0,0],[½,½,½],[½,−½,½],[0,0,1]]
    static let g: [[Float]] = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]

    /// V[ξ, c, t] = (Bᵀ·d·B)[ξ] for the 4×4 input patch d of each tile in `tileRows`, zero
    /// outside the image. Bᵀ = [[1,0,−1,0],[0,1,1,0],[0,−1,1,0],[0,1,0,−1]].
    ///
    /// Input rows are split into even and odd phases, `P_k[j] = row[2j + k − 1]`, so tile tx reads
    /// `P_0[tx], P_1[tx], P_0[tx+1], P_1[tx+1]`: unit-stride over tiles, four tiles per SIMD op.
    static func transformInput(
        _ g: ConvGeometry, batch: Int, input: UnsafePointer<Float>, tileRows: Range<Int>,
        tiling: Winograd.Tiling, into v: UnsafeMutablePointer<Float>, rows: UnsafeMutablePointer<Float>
    ) {
        let (h, w, tw) = (g.height, g.width, tiling.tilesWide)
        let count = tileRows.count * tw, plane = g.inChannels * count
        let phase = tw + 1, rowLength = 2 * phase
        @inline(__always) func d(_ i: Int) -> UnsafeMutablePointer<Float> { rows + i * rowLength }
        for c in 0..<g.inChannels {
            for (localRow, r) in tileRows.enumerated() {
                let n = r / tiling.tilesHigh, ty = r - n * tiling.tilesHigh
                let image = input + (c * batch + n) * h * w
                Winograd.loadPhaseRows(image, height: h, width: w, tileRow: ty, tile: 2, phaseLength: phase, into: rows)
                // Bᵀ·d on rows, in place: q0 = d0 − d2, q1 = d1 + d2, q2 = d2 − d1, q3 = d1 − d3.
                var x = 0
                while x < rowLength {
                    let lanes = min(4, rowLength - x)
                    let a0 = load(d(0) + x, lanes), a1 = load(d(1) + x, lanes)
                    let a2 = load(d(2) + x, lanes), a3 = load(d(3) + x, lanes)
                    store(a0 - a2, d(0) + x, lanes)
                    store(a1 + a2, d(1) + x, lanes)
                    store(a2 - a1, d(2) + x, lanes)
                    store(a1 - a3, d(3) + x, lanes)
                    x += lanes
                }
                // (Bᵀ·d)·B on columns, four tiles at a time.
                let base = v + c * count + localRow * tw
                for i in 0..<4 {
                    let row = d(i)
                    let out = base + (4 * i) * plane
                    var tx = 0
                    while tx < tw {
                        let lanes = min(4, tw - tx)
                        let a0 = load(row + tx, lanes), a1 = load(row + phase + tx, lanes)
                        let a2 = load(row + tx + 1, lanes), a3 = load(row + phase + tx + 1, lanes)
                        store(a0 - a2, out + tx, lanes)
                        store(a1 + a2, out + plane + tx, lanes)
                        store(a2 - a1, out + 2 * plane + tx, lanes)
                        store(a1 - a3, out + 3 * plane + tx, lanes)
                        tx += lanes
                    }
                }
            }
        }
    }

    /// Y = Aᵀ·M·A per tile and output channel, Aᵀ = [[1,1,1,0],[0,1,−1,−1]], then the epilogue.
    static func transformOutput(
        _ g: ConvGeometry, batch: Int, m: UnsafePointer<Float>, tileRows: Range<Int>, tiling: Winograd.Tiling,
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
                    epilogue.store(row, count: w, into: output + offset, residual: epilogue.residual.map { $0 + offset })
                }
            }
        }
    }

    /// Ĝ[ξ, o, t] = (A·∂y·Aᵀ)[ξ] for the 2×2 output-gradient tile ∂y of tile t (zero outside the
    /// image), A = [[1,0],[1,1],[1,−1],[0,−1]].
    static func transformGradient(
        _ g: ConvGeometry, batch: Int, gradOutput: UnsafePointer<Float>, tileRows: Range<Int>, tiling: Winograd.Tiling,
        into out: UnsafeMutablePointer<Float>, rows: UnsafeMutablePointer<Float>
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
