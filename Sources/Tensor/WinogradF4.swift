/// The F(4×4, 3×3) transforms: 6×6 input tiles, 4×4 output tiles, 36 GEMMs; 4× fewer
/// multiplications than direct convolution and about half the transform traffic per output of F(2×2).
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
    static func transformInput(
        _ g: ConvGeometry, batch: Int, input: UnsafePointer<Float>, tileRows: Range<Int>,
        tiling: Winograd.Tiling, into v: UnsafeMutablePointer<Float>, rows: UnsafeMutablePointer<Float>
    ) {
        let (h, w, tw) = (g.height, g.width, tiling.tilesWide)
        let count = tileRows.count * tw, plane = g.inChannels * count
        let padded = 4 * tw + 2  // columns −1 … 4·tw
        @inline(__always) func d(_ i: Int) -> UnsafeMutablePointer<Float> { rows + i * padded }
        @inline(__always) func q(_ i: Int) -> UnsafeMutablePointer<Float> { rows + (6 + i) * padded }
        for c in 0..<g.inChannels {
            for (localRow, r) in tileRows.enumerated() {
                let n = r / tiling.tilesHigh, ty = r - n * tiling.tilesHigh
                let image = input + (c * batch + n) * h * w
                for i in 0..<6 {
                    let y = ty * 4 - 1 + i
                    d(i).update(repeating: 0, count: padded)
                    if y >= 0 && y < h { (d(i) + 1).update(from: image + y * w, count: w) }
                }
                // Bᵀ·d on rows, vectorised over the padded width.
                let (d0, d1, d2, d3, d4, d5) = (d(0), d(1), d(2), d(3), d(4), d(5))
                let (q0, q1, q2, q3, q4, q5) = (q(0), q(1), q(2), q(3), q(4), q(5))
                for x in 0..<padded {
                    let a0 = d0[x], a1 = d1[x], a2 = d2[x], a3 = d3[x], a4 = d4[x], a5 = d5[x]
                    q0[x] = 4 * a0 - 5 * a2 + a4
                    q1[x] = -4 * (a1 + a2) + a3 + a4
                    q2[x] = 4 * (a1 - a2) - a3 + a4
                    q3[x] = 2 * (a3 - a1) - a2 + a4
                    q4[x] = 2 * (a1 - a3) - a2 + a4
                    q5[x] = 4 * a1 - 5 * a3 + a5
                }
                // (Bᵀ·d)·B on columns: tile tx reads padded columns 4tx … 4tx+5.
                let base = v + c * count + localRow * tw
                for i in 0..<6 {
                    let row = q(i)
                    let o0 = base + (6 * i) * plane, o1 = o0 + plane, o2 = o1 + plane
                    let o3 = o2 + plane, o4 = o3 + plane, o5 = o4 + plane
                    for tx in 0..<tw {
                        let p = row + 4 * tx
                        let a0 = p[0], a1 = p[1], a2 = p[2], a3 = p[3], a4 = p[4], a5 = p[5]
                        o0[tx] = 4 * a0 - 5 * a2 + a4
                        o1[tx] = -4 * (a1 + a2) + a3 + a4
                        o2[tx] = 4 * (a1 - a2) - a3 + a4
                        o3[tx] = 2 * (a3 - a1) - a2 + a4
                        o4[tx] = 2 * (a1 - a3) - a2 + a4
                        o5[tx] = 4 * a1 - 5 * a3 + a5
                    }
                }
            }
        }
    }

    /// Y = Aᵀ·M·A per tile and output channel, then the epilogue.
    static func transformOutput(
        _ g: ConvGeometry, batch: Int, m: UnsafePointer<Float>, tileRows: Range<Int>,
        tiling: Winograd.Tiling, epilogue: Epilogue, output: UnsafeMutablePointer<Float>,
        rows: UnsafeMutablePointer<Float>
    ) {
        let (h, w, tw) = (g.height, g.width, tiling.tilesWide)
        let count = tileRows.count * tw, plane = g.outChannels * count, total = batch * h * w
        let stride = 4 * tw
        for o in 0..<g.outChannels {
            let bias = epilogue.bias?[o] ?? 0
            for (localRow, r) in tileRows.enumerated() {
                let n = r / tiling.tilesHigh, ty = r - n * tiling.tilesHigh
                let src = m + o * count + localRow * tw
                var tx = 0
                // Four tiles at a time; the 36 streams are contiguous over tiles.
                while tx < tw {
                    let lanes = min(4, tw - tx)
                    @inline(__always) func at(_ xi: Int) -> SIMD4<Float> {
                        if lanes == 4 { return UnsafeRawPointer(src + xi * plane + tx).loadUnaligned(as: SIMD4<Float>.self) }
                        var value = SIMD4<Float>()
                        for l in 0..<lanes { value[l] = src[xi * plane + tx + l] }
                        return value
                    }
                    // Aᵀ on the row index: s[r][j] for r = 0…3, j = 0…5.
                    @inline(__always) func column(_ j: Int) -> (SIMD4<Float>, SIMD4<Float>, SIMD4<Float>, SIMD4<Float>) {
                        let m0 = at(j), m1 = at(6 + j), m2 = at(12 + j), m3 = at(18 + j), m4 = at(24 + j), m5 = at(30 + j)
                        let p12 = m1 + m2, d12 = m1 - m2, p34 = m3 + m4, d34 = m3 - m4
                        return (m0 + p12 + p34, d12 + 2 * d34, p12 + 4 * p34, d12 + 8 * d34 + m5)
                    }
                    let c0 = column(0), c1 = column(1), c2 = column(2), c3 = column(3), c4 = column(4), c5 = column(5)
                    // Aᵀ on the column index, row by row, written interleaved: tile tx covers 4tx … 4tx+3.
                    @inline(__always) func emit(_ row: Int, _ s0: SIMD4<Float>, _ s1: SIMD4<Float>, _ s2: SIMD4<Float>,
                                                _ s3: SIMD4<Float>, _ s4: SIMD4<Float>, _ s5: SIMD4<Float>) {
                        let p12 = s1 + s2, d12 = s1 - s2, p34 = s3 + s4, d34 = s3 - s4
                        let y0 = s0 + p12 + p34 + bias, y1 = d12 + 2 * d34 + bias
                        let y2 = p12 + 4 * p34 + bias, y3 = d12 + 8 * d34 + s5 + bias
                        let dst = rows + row * stride + 4 * tx
                        for l in 0..<lanes {
                            dst[4 * l] = y0[l]; dst[4 * l + 1] = y1[l]; dst[4 * l + 2] = y2[l]; dst[4 * l + 3] = y3[l]
                        }
                    }
                    emit(0, c0.0, c1.0, c2.0, c3.0, c4.0, c5.0)
                    emit(1, c0.1, c1.1, c2.1, c3.1, c4.1, c5.1)
                    emit(2, c0.2, c1.2, c2.2, c3.2, c4.2, c5.2)
                    emit(3, c0.3, c1.3, c2.3, c3.3, c4.3, c5.3)
                    tx += lanes
                }
                let oy = ty * 4
                for dy in 0..<min(4, h - oy) {
                    let row = rows + dy * stride
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

    /// Ĝ[ξ, o, t] = (A·∂y·Aᵀ)[ξ] for the 4×4 output-gradient tile ∂y (zero outside the image).
    /// A·y for a 4-vector y is (y0, Σy, y0−y1+y2−y3, y0+2y1+4y2+8y3, y0−2y1+4y2−8y3, y3).
    static func transformGradient(
        _ g: ConvGeometry, batch: Int, gradOutput: UnsafePointer<Float>, tileRows: Range<Int>,
        tiling: Winograd.Tiling, into out: UnsafeMutablePointer<Float>
    ) {
        let (h, w, tw) = (g.height, g.width, tiling.tilesWide)
        let count = tileRows.count * tw, plane = g.outChannels * count
        @inline(__always) func expand(_ y: SIMD4<Float>) -> (Float, Float, Float, Float, Float, Float) {
            (y[0], y[0] + y[1] + y[2] + y[3], y[0] - y[1] + y[2] - y[3],
             y[0] + 2 * y[1] + 4 * y[2] + 8 * y[3], y[0] - 2 * y[1] + 4 * y[2] - 8 * y[3], y[3])
        }
        for o in 0..<g.outChannels {
            for (localRow, r) in tileRows.enumerated() {
                let n = r / tiling.tilesHigh, ty = r - n * tiling.tilesHigh
                let image = gradOutput + (o * batch + n) * h * w
                let base = out + o * count + localRow * tw
                for tx in 0..<tw {
                    // Rows of the tile, each expanded along x: e_r = A·row_r (6 values).
                    @inline(__always) func expandedRow(_ rr: Int) -> SIMD8<Float> {
                        let y = ty * 4 + rr
                        guard y < h else { return SIMD8() }
                        var row = SIMD4<Float>()
                        for k in 0..<4 where tx * 4 + k < w { row[k] = image[y * w + tx * 4 + k] }
                        let x = expand(row)
                        return SIMD8(x.0, x.1, x.2, x.3, x.4, x.5, 0, 0)
                    }
                    // Then along y: column j of the 6×6 result is A·(e[0][j], …, e[3][j]).
                    let s0 = expandedRow(0), s1 = expandedRow(1), s2 = expandedRow(2), s3 = expandedRow(3)
                    let rowsOut = (s0, s0 + s1 + s2 + s3, s0 - s1 + s2 - s3,
                                   s0 + 2 * s1 + 4 * s2 + 8 * s3, s0 - 2 * s1 + 4 * s2 - 8 * s3, s3)
                    @inline(__always) func store(_ i: Int, _ value: SIMD8<Float>) {
                        for j in 0..<6 { base[(6 * i + j) * plane + tx] = value[j] }
                    }
                    store(0, rowsOut.0); store(1, rowsOut.1); store(2, rowsOut.2)
                    store(3, rowsOut.3); store(4, rowsOut.4); store(5, rowsOut.5)
                }
            }
        }
    }
}
