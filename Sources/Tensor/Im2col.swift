import CKernels

/// im2col / col2im over the engine's [C, N, H, W] layout, for any column range.
///
/// Column `j` of the patch matrix is output pixel `(n, oh, ow)` flattened as `n·OH·OW + oh·OW + ow`;
/// row `r` is `(c, kh, kw)`. Working on an arbitrary column range `[j0, j1)` lets workers split
/// a single image (batch-1 latency) as easily as a batch.
public enum Im2col {
    /// input [C, N, H, W]; col [C·KH·KW, j1-j0] (row stride `rowStride`, default `j1-j0`), by CKernels'
    /// `bk_im2col` at `level`.
    public static func unfold(
        _ g: ConvGeometry, batch: Int, input: UnsafePointer<Float>,
        columns: Range<Int>, into col: UnsafeMutablePointer<Float>, rowStride: Int? = nil, level: KernelLevel = .current
    ) {
        guard !columns.isEmpty else { return }
        withUnsafePointer(to: g.kernelShape) { shape in
            bk_im2col(level.raw, shape, Int32(batch), input, columns.lowerBound, columns.upperBound, col,
                      rowStride ?? columns.count)
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
    /// column index again for every run (on ResNet's 7-wide rows those integer divisions were the
    /// hottest instructions of the Swift unfold that `bk_im2col` replaced).
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
