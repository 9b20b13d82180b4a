import CKernels

/// Pooling over planes. In the [C, N, H, W] layout every (c, n) pair is one contiguous H×W plane,
/// so pooling is layout-agnostic: it just walks `planes = C·N` planes.
public enum Pooling {
    /// input [P, H, W] → output [P, OH, OW] and, when `argmax` is given, the flat input index
    /// (within its plane) of each maximum, which the backward pass routes the gradient to.
    /// Padding cells never win (they are −∞), matching PyTorch; of equal maxima the first in row
    /// order wins. CKernels at `level` either way: `bk_max_pool_argmax` for training,
    /// `bk_max_pool` (no argmax) for inference.
    public static func maxForward(
        _ g: ConvGeometry, planes: Int, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
        argmax: UnsafeMutablePointer<Int32>?, pool: ComputePool, level: KernelLevel = .current
    ) {
        guard let argmax else {
            maxForwardWithoutArgmax(g, planes: planes, input: input, output: output, pool: pool, level: level)
            return
        }
        let (hw, ohw) = (g.inputPlane, g.outputPlane)
        withUnsafePointer(to: g.kernelShape) { shape in
            pool.forEachRange(planes) { _, range in
                bk_max_pool_argmax(level.raw, Int32(range.count), shape, input + range.lowerBound * hw,
                                   output + range.lowerBound * ohw, argmax + range.lowerBound * ohw)
            }
        }
    }

    /// The inference path (no argmax wanted): CKernels' vectorised `bk_max_pool` on each worker's
    /// share of the planes. Same maxima as the training kernel (NaN aside).
    static func maxForwardWithoutArgmax(
        _ g: ConvGeometry, planes: Int, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
        pool: ComputePool, level: KernelLevel
    ) {
        let (hw, ohw) = (g.inputPlane, g.outputPlane)
        // One pointer to the shape, read by every worker (not `&shape` per call from each thread).
        withUnsafePointer(to: g.kernelShape) { shape in
            let rowFloats = max(bk_max_pool_row_floats(shape), 1)
            pool.forEachRange(planes) { _, range in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: rowFloats) { row in
                    bk_max_pool(level.raw, Int32(range.count), shape, input + range.lowerBound * hw,
                                output + range.lowerBound * ohw, row.baseAddress!)
                }
            }
        }
    }

    /// gradOutput [P, OH, OW] → gradInput [P, H, W] (overwritten), routed through `argmax`.
    public static func maxBackward(
        _ g: ConvGeometry, planes: Int, gradOutput: UnsafePointer<Float>, argmax: UnsafePointer<Int32>,
        gradInput: UnsafeMutablePointer<Float>, pool: ComputePool, level: KernelLevel = .current
    ) {
        let (hw, ohw) = (g.inputPlane, g.outputPlane)
        withUnsafePointer(to: g.kernelShape) { shape in
            pool.forEachRange(planes) { _, range in
                bk_max_pool_backward(level.raw, Int32(range.count), shape, gradOutput + range.lowerBound * ohw,
                                     argmax + range.lowerBound * ohw, gradInput + range.lowerBound * hw)
            }
        }
    }

    /// Calls `body(plane, cell, rows, columns)` for every output cell of every plane, with the
    /// input rows and columns its window covers inside the image; planes are split over `pool`.
    static func forEachWindow(_ g: ConvGeometry, planes: Int, pool: ComputePool,
                              _ body: (_ plane: Int, _ cell: Int, _ rows: Range<Int>, _ columns: Range<Int>) -> Void) {
        pool.forEachRange(planes) { _, range in
            for p in range {
                for y in 0..<g.outHeight {
                    let y0 = y * g.stride - g.padding
                    for x in 0..<g.outWidth {
                        let x0 = x * g.stride - g.padding
                        body(p, y * g.outWidth + x, max(y0, 0)..<min(y0 + g.kernelHeight, g.height),
                             max(x0, 0)..<min(x0 + g.kernelWidth, g.width))
                    }
                }
            }
        }
    }

    /// input [P, H, W] → output [P, OH, OW]: the mean of each window, over k² cells when padding
    /// counts as zeros (ONNX count_include_pad=1), else over the window's cells inside the image.
    public static func averageForward(
        _ g: ConvGeometry, planes: Int, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
        countPadding: Bool, pool: ComputePool
    ) {
        let (hw, ohw, window) = (g.inputPlane, g.outputPlane, Float(g.kernelHeight * g.kernelWidth))
        forEachWindow(g, planes: planes, pool: pool) { p, cell, rows, columns in
            let src = input + p * hw
            var sum: Float = 0
            for iy in rows { for ix in columns { sum += src[iy * g.width + ix] } }
            output[p * ohw + cell] = sum / (countPadding ? window : Float(max(rows.count * columns.count, 1)))
        }
    }

    /// gradOutput [P, OH, OW] → gradInput [P, H, W] (overwritten): each window's gradient shared
    /// equally by the cells it averaged.
    public static func averageBackward(
        _ g: ConvGeometry, planes: Int, gradOutput: UnsafePointer<Float>, gradInput: UnsafeMutablePointer<Float>,
        countPadding: Bool, pool: ComputePool
    ) {
        let (hw, ohw, window) = (g.inputPlane, g.outputPlane, Float(g.kernelHeight * g.kernelWidth))
        gradInput.update(repeating: 0, count: planes * hw)
        forEachWindow(g, planes: planes, pool: pool) { p, cell, rows, columns in
            let dst = gradInput + p * hw
            let share = gradOutput[p * ohw + cell] / (countPadding ? window : Float(max(rows.count * columns.count, 1)))
            for iy in rows { for ix in columns { dst[iy * g.width + ix] += share } }
        }
    }

    /// input [C, N, H·W] → output [N, C]: the mean of each plane, transposed so the dense head reads
    /// one contiguous feature row per image.
    public static func globalAverageForward(
        channels: Int, batch: Int, plane: Int, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>
    ) {
        let scale = 1 / Float(plane)
        for c in 0..<channels {
            for n in 0..<batch {
                let src = input + (c * batch + n) * plane
                // Sixteen running sums, not one: a single float sum waits on each add in turn.
                var lanes = SIMD16<Float>(), i = 0
                while i + 16 <= plane {
                    lanes += SIMD16(loadingFrom: src + i)
                    i += 16
                }
                var sum = lanes.sum()
                while i < plane { sum += src[i]; i += 1 }
                output[n * channels + c] = sum * scale
            }
        }
    }

    /// gradOutput [N, C] → gradInput [C, N, H·W].
    public static func globalAverageBackward(
        channels: Int, batch: Int, plane: Int, gradOutput: UnsafePointer<Float>, gradInput: UnsafeMutablePointer<Float>
    ) {
        let scale = 1 / Float(plane)
        for c in 0..<channels {
            for n in 0..<batch {
                (gradInput + (c * batch + n) * plane).update(
                    repeating: gradOutput[n * channels + c] * scale, count: plane)
            }
        }
    }
}
