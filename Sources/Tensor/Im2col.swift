/// im2col / col2im over the engine's [C, N, H, W] layout, for any column range.
///
/// Column `j` of the patch matrix is output pixel `(n, oh, ow)` flattened as `n·OH·OW + oh·OW + ow`;
/// row `r` is `(c, kh, kw)`. Working on an arbitrary column range `[j0, j1)` lets workers split
/// a single image (batch-1 latency) as easily as a batch.
public enum Im2col {
    /// input [C, N, H, W]; col [C·KH·KW, j1-j0] (row stride `j1-j0`).
    public static func unfold(
        _ g: ConvGeometry, batch: Int, input: UnsafePointer<Float>,
        columns: Range<Int>, into col: UnsafeMutablePointer<Float>
    ) {
        let ow = g.outWidth, outHeight = g.outHeight, hw = g.inputPlane
        let width = columns.count, start = Position(column: columns.lowerBound, g)
        var row = 0
        for c in 0..<g.inChannels {
            let channel = input + c * batch * hw
            for kh in 0..<g.kernelHeight {
                for kw in 0..<g.kernelWidth {
                    let dst = col + row * width
                    var j = columns.lowerBound, at = start
                    while j < columns.upperBound {
                        let (n, oh, ow0) = (at.n, at.oh, at.ow)
                        let run = min(ow - ow0, columns.upperBound - j)
                        let ih = oh * g.stride - g.padding + kh
                        let out = dst + (j - columns.lowerBound)
                        if ih < 0 || ih >= g.height {
                            out.update(repeating: 0, count: run)
                        } else {
                            let src = channel + n * hw + ih * g.width
                            let base = kw - g.padding
                            if g.stride == 1 {
                                // Contiguous source run, clipped at both image borders.
                                var x = 0
                                while x < run, base + ow0 + x < 0 { out[x] = 0; x += 1 }
                                let last = min(run, g.width - base - ow0)
                                if last - x >= 32 {
                                    (out + x).update(from: src + base + ow0 + x, count: last - x)
                                    x = last
                                } else {
                                    // Short rows (7 wide in ResNet's last stage): a call to memmove
                                    // per run would cost more than the copy.
                                    let from = src + base + ow0
                                    while x < last { out[x] = from[x]; x += 1 }
                                }
                                while x < run { out[x] = 0; x += 1 }
                            } else {
                                // Strided: the columns whose source lies in the image, [lo, hi), are
                                // found once, so the copy between the zeroed ends has no branch
                                // (and away from the borders, without a division).
                                let s = g.stride, first = ow0 * s + base
                                let lo = first >= 0 ? 0 : min(run, (-first + s - 1) / s)
                                let hi = first + (run - 1) * s < g.width
                                    ? run : max(lo, min(run, (g.width - first + s - 1) / s))
                                out.update(repeating: 0, count: lo)
                                var x = lo, from = src + first + lo * s
                                if s == 2 {
                                    // Stride 2 (ResNet's stem and downsampling): the even lanes of
                                    // 16 loaded floats, while those 16 lie inside the row.
                                    let rowEnd = src + g.width
                                    while x + 8 <= hi && from + 16 <= rowEnd {
                                        let v = UnsafeRawPointer(from).loadUnaligned(as: SIMD16<Float>.self)
                                        UnsafeMutableRawPointer(out + x).storeBytes(of: v.evenHalf, as: SIMD8<Float>.self)
                                        from += 16; x += 8
                                    }
                                }
                                while x < hi { out[x] = from.pointee; from += s; x += 1 }
                                (out + hi).update(repeating: 0, count: run - hi)
                            }
                        }
                        j += run
                        at.advance(by: run, rowLength: ow, rows: outHeight)
                    }
                    row += 1
                }
            }
        }
    }

    /// Adds col [C·KH·KW, j1-j0] back into gradInput [C, N, H, W] (the adjoint of `unfold`).
    /// Callers give each worker whole images so two workers never add into the same pixel.
    public static func fold(
        _ g: ConvGeometry, batch: Int, col: UnsafePointer<Float>,
        columns: Range<Int>, into gradInput: UnsafeMutablePointer<Float>
    ) {
        let ow = g.outWidth, outHeight = g.outHeight, hw = g.inputPlane
        let width = columns.count, start = Position(column: columns.lowerBound, g)
        var row = 0
        for c in 0..<g.inChannels {
            let channel = gradInput + c * batch * hw
            for kh in 0..<g.kernelHeight {
                for kw in 0..<g.kernelWidth {
                    let srcRow = col + row * width
                    var j = columns.lowerBound, at = start
                    while j < columns.upperBound {
                        let (n, oh, ow0) = (at.n, at.oh, at.ow)
                        let run = min(ow - ow0, columns.upperBound - j)
                        let ih = oh * g.stride - g.padding + kh
                        if ih >= 0 && ih < g.height {
                            let dst = channel + n * hw + ih * g.width
                            let src = srcRow + (j - columns.lowerBound)
                            for x in 0..<run {
                                let iw = (ow0 + x) * g.stride + kw - g.padding
                                if iw >= 0 && iw < g.width { dst[iw] += src[x] }
                            }
                        }
                        j += run
                        at.advance(by: run, rowLength: ow, rows: outHeight)
                    }
                    row += 1
                }
            }
        }
    }

    /// Output pixel (n, oh, ow) of a column, advanced along a run instead of divided out of the
    /// column index again for every run (those integer divisions were `unfold`'s hottest
    /// instructions on ResNet's 7-wide rows).
    struct Position {
        var n: Int, oh: Int, ow: Int

        init(column j: Int, _ g: ConvGeometry) {
            n = j / g.outputPlane
            let p = j - n * g.outputPlane
            oh = p / g.outWidth
            ow = p - oh * g.outWidth
        }

        /// Moves `run` columns on; a run never crosses the end of an output row. The output's
        /// width and height are passed in: `ConvGeometry` computes them with a division each time.
        mutating func advance(by run: Int, rowLength: Int, rows: Int) {
            ow += run
            if ow == rowLength {
                ow = 0
                oh += 1
                if oh == rows { oh = 0; n += 1 }
            }
        }
    }
}
