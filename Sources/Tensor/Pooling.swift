/// Pooling over planes. In the [C, N, H, W] layout every (c, n) pair is one contiguous H×W plane,
/// so pooling is layout-agnostic: it just walks `planes = C·N` planes.
public enum Pooling {
    /// input [P, H, W] → output [P, OH, OW] and, when `argmax` is given, the flat input index
    /// (within its plane) of each maximum, which the backward pass routes the gradient to.
    /// Padding cells never win (they are −∞), matching PyTorch.
    public static func maxForward(
        _ g: ConvGeometry, planes: Int, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
        argmax: UnsafeMutablePointer<Int32>?, pool: ComputePool
    ) {
        let (oh, ow, hw, ohw) = (g.outHeight, g.outWidth, g.inputPlane, g.outputPlane)
        if argmax == nil && g.kernelHeight == 2 && g.kernelWidth == 2 && g.stride == 2 && g.padding == 0 {
            maxForward2x2(g, planes: planes, input: input, output: output, pool: pool)
            return
        }
        if argmax == nil {
            maxForwardSeparable(g, planes: planes, input: input, output: output, pool: pool)
            return
        }
        pool.forEachRange(planes) { _, range in
            for p in range {
                let src = input + p * hw, dst = output + p * ohw
                for y in 0..<oh {
                    let y0 = y * g.stride - g.padding
                    for x in 0..<ow {
                        let x0 = x * g.stride - g.padding
                        var best = -Float.infinity, bestIndex = -1
                        for ky in 0..<g.kernelHeight {
                            let iy = y0 + ky
                            if iy < 0 || iy >= g.height { continue }
                            for kx in 0..<g.kernelWidth {
                                let ix = x0 + kx
                                if ix < 0 || ix >= g.width { continue }
                                let value = src[iy * g.width + ix]
                                // `!(value <= best)` lets NaN propagate instead of being skipped.
                                if bestIndex < 0 || !(value <= best) { best = value; bestIndex = iy * g.width + ix }
                            }
                        }
                        dst[y * ow + x] = best
                        argmax?[p * ohw + y * ow + x] = Int32(bestIndex)
                    }
                }
            }
        }
    }

    /// The inference fast path for the common 2×2/2 window: four tiles per SIMD op via a stride-2
    /// deinterleave of each input row pair. Same results as the generic loop (NaN aside).
    static func maxForward2x2(
        _ g: ConvGeometry, planes: Int, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
        pool: ComputePool
    ) {
        let (oh, ow, w, hw, ohw) = (g.outHeight, g.outWidth, g.width, g.inputPlane, g.outputPlane)
        pool.forEachRange(planes) { _, range in
            for p in range {
                let src = input + p * hw, dst = output + p * ohw
                for y in 0..<oh {
                    let top = src + 2 * y * w, bottom = top + w, out = dst + y * ow
                    var x = 0
                    while x + 4 <= ow {
                        let a = UnsafeRawPointer(top + 2 * x).loadUnaligned(as: SIMD8<Float>.self)
                        let b = UnsafeRawPointer(bottom + 2 * x).loadUnaligned(as: SIMD8<Float>.self)
                        let m = pointwiseMax(a, b)
                        let pairs = pointwiseMax(SIMD4(m[0], m[2], m[4], m[6]), SIMD4(m[1], m[3], m[5], m[7]))
                        UnsafeMutableRawPointer(out + x).storeBytes(of: pairs, as: SIMD4<Float>.self)
                        x += 4
                    }
                    while x < ow {
                        out[x] = max(max(top[2 * x], top[2 * x + 1]), max(bottom[2 * x], bottom[2 * x + 1]))
                        x += 1
                    }
                }
            }
        }
    }

    /// The inference path for any other window (ResNet's 3×3/2 stem pool): per output row, the
    /// maximum over the window's input rows for every column (eight columns per SIMD op), then each
    /// window's maximum along that one row, instead of k² branchy loads per cell. Same results as
    /// the generic loop (NaN aside).
    static func maxForwardSeparable(
        _ g: ConvGeometry, planes: Int, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
        pool: ComputePool
    ) {
        let (oh, ow, w, hw, ohw) = (g.outHeight, g.outWidth, g.width, g.inputPlane, g.outputPlane)
        pool.forEachRange(planes) { _, range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: w) { buffer in
                let rowMax = buffer.baseAddress!
                for p in range {
                    let src = input + p * hw, dst = output + p * ohw
                    for y in 0..<oh {
                        let y0 = y * g.stride - g.padding
                        // A window wholly in the padding (padding ≥ kernel) has no rows: −∞, as in the generic loop.
                        let first = max(y0, 0), end = min(y0 + g.kernelHeight, g.height)
                        guard first < end else {
                            (dst + y * ow).update(repeating: -.infinity, count: ow)
                            continue
                        }
                        rowMax.update(from: src + first * w, count: w)
                        for iy in (first + 1)..<end {
                            let row = src + iy * w
                            var x = 0
                            while x + 8 <= w {
                                let a = UnsafeRawPointer(rowMax + x).loadUnaligned(as: SIMD8<Float>.self)
                                let b = UnsafeRawPointer(row + x).loadUnaligned(as: SIMD8<Float>.self)
                                UnsafeMutableRawPointer(rowMax + x).storeBytes(of: pointwiseMax(a, b), as: SIMD8<Float>.self)
                                x += 8
                            }
                            while x < w { rowMax[x] = max(rowMax[x], row[x]); x += 1 }
                        }
                        for x in 0..<ow {
                            let x0 = x * g.stride - g.padding
                            var best = -Float.infinity
                            for ix in max(x0, 0)..<max(max(x0, 0), min(x0 + g.kernelWidth, w)) { best = max(best, rowMax[ix]) }
                            dst[y * ow + x] = best
                        }
                    }
                }
            }
        }
    }

    /// gradOutput [P, OH, OW] → gradInput [P, H, W] (overwritten), routed through `argmax`.
    public static func maxBackward(
        _ g: ConvGeometry, planes: Int, gradOutput: UnsafePointer<Float>, argmax: UnsafePointer<Int32>,
        gradInput: UnsafeMutablePointer<Float>, pool: ComputePool
    ) {
        let (hw, ohw) = (g.inputPlane, g.outputPlane)
        pool.forEachRange(planes) { _, range in
            for p in range {
                let dst = gradInput + p * hw
                dst.update(repeating: 0, count: hw)
                for i in 0..<ohw {
                    let index = Int(argmax[p * ohw + i])
                    if index >= 0 { dst[index] += gradOutput[p * ohw + i] }
                }
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
                var sum: Float = 0
                for i in 0..<plane { sum += src[i] }
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
