/// Separable resampling weights for one axis.
///
/// Shrinking uses *area averaging*: each output pixel is the mean of the
/// source area it covers (fractional pixels weighted by overlap), which is the
/// ideal box prefilter and prevents the aliasing bilinear sampling shows when
/// a 480-pixel side becomes 64. Enlarging uses bilinear interpolation on pixel
/// centres (half-pixel convention, edges clamped).
final class AxisWeights {
    // Plain pointers (allocated once, freed in deinit) keep the inner loops
    // free of array bounds checks and uniqueness checks.
    let first: UnsafeMutablePointer<Int>     // first source index per output
    let count: UnsafeMutablePointer<Int>     // taps per output
    let offset: UnsafeMutablePointer<Int>    // index into `weights`
    private(set) var weights: UnsafeMutablePointer<Float>
    private var capacity: Int
    private var used = 0
    private(set) var lowest: Int             // smallest source index touched
    private(set) var highest: Int            // largest source index touched

    deinit {
        first.deallocate(); count.deallocate(); offset.deallocate(); weights.deallocate()
    }

    private func append(_ w: Float) {
        if used == capacity {
            let bigger = UnsafeMutablePointer<Float>.allocate(capacity: capacity * 2)
            bigger.update(from: weights, count: used)
            weights.deallocate()
            weights = bigger
            capacity *= 2
        }
        weights[used] = w
        used += 1
    }

    init(sourceLength n: Int, start: Double, extent: Double, outputLength m: Int) {
        first = .allocate(capacity: m); count = .allocate(capacity: m); offset = .allocate(capacity: m)
        let ratio = extent / Double(m)
        capacity = max(16, m * (Int(ratio.rounded(.up)) + 2))
        weights = .allocate(capacity: capacity)
        lowest = n; highest = 0
        for i in 0..<m {
            offset[i] = used
            if ratio >= 1 {
                let a = start + Double(i) * ratio, b = start + Double(i + 1) * ratio
                let j0 = min(max(Int(a.rounded(.down)), 0), n - 1)
                let j1 = min(max(Int(b.rounded(.up)) - 1, j0), n - 1)
                var sum = 0.0
                let base = used
                for j in j0...j1 {
                    let w = max(0, min(b, Double(j + 1)) - max(a, Double(j)))
                    append(Float(w)); sum += w
                }
                if sum <= 0 {  // degenerate (clamped outside): nearest pixel
                    for k in base..<used { weights[k] = 0 }
                    weights[base] = 1
                } else {
                    for k in base..<used { weights[k] = Float(Double(weights[k]) / sum) }
                }
                first[i] = j0; count[i] = j1 - j0 + 1
                lowest = min(lowest, j0); highest = max(highest, j1)
            } else {
                let c = min(max(start + (Double(i) + 0.5) * ratio - 0.5, 0), Double(n - 1))
                let j0 = min(Int(c.rounded(.down)), n - 1)
                let f = c - Double(j0)
                if j0 + 1 < n && f > 0 {
                    append(Float(1 - f)); append(Float(f))
                    first[i] = j0; count[i] = 2
                    highest = max(highest, j0 + 1)
                } else {
                    append(1); first[i] = j0; count[i] = 1
                    highest = max(highest, j0)
                }
                lowest = min(lowest, j0)
            }
        }
    }
}

/// The fast resampler: vertical pass into a one-row float accumulator, then a
/// horizontal pass that stores straight into planar (CHW) output. The only
/// scratch is one row of the crop width; the output is the caller's buffer.
enum Resampler {
    static func resample(_ view: PixelView, region: CropRegion, width: Int, height: Int,
                         flip: Bool, transform t: ChannelTransform,
                         into out: UnsafeMutablePointer<Float>) {
        let r = region.clamped(to: ImageSize(width: view.width, height: view.height))
        let hw = AxisWeights(sourceLength: view.width, start: r.x, extent: r.width, outputLength: width)
        let vw = AxisWeights(sourceLength: view.height, start: r.y, extent: r.height, outputLength: height)
        let xLo = hw.lowest, span = hw.highest - hw.lowest + 1
        let plane = width * height
        let src = view.base
        let a = UnsafeMutablePointer<Float>.allocate(capacity: span * 3)
        defer { a.deallocate() }
        let hW = hw.weights, vW = vw.weights
        for oy in 0..<height {
            // Vertical: acc[x] = sum_k w_k * src(x, y_k) over the needed columns.
            a.update(repeating: 0, count: span * 3)
            let vOff = vw.offset[oy], y0 = vw.first[oy]
            for k in 0..<vw.count[oy] {
                let w = vW[vOff + k]
                var o = view.offset(x: xLo, y: y0 + k)
                var p = a
                for _ in 0..<span {
                    p[0] += w * Float(src[o]); p[1] += w * Float(src[o + 1]); p[2] += w * Float(src[o + 2])
                    o += view.dx; p += 3
                }
            }
            // Horizontal: combine accumulator columns and store planar.
            let row = out + oy * width
            for ox in 0..<width {
                let hOff = hw.offset[ox]
                var p = a + (hw.first[ox] - xLo) * 3
                var s0: Float = 0, s1: Float = 0, s2: Float = 0
                for k in 0..<hw.count[ox] {
                    let w = hW[hOff + k]
                    s0 += w * p[0]; s1 += w * p[1]; s2 += w * p[2]
                    p += 3
                }
                let dx = flip ? width - 1 - ox : ox
                row[dx] = s0 * t.scale.0 + t.bias.0
                row[plane + dx] = s1 * t.scale.1 + t.bias.1
                row[2 * plane + dx] = s2 * t.scale.2 + t.bias.2
            }
        }
        withExtendedLifetime((hw, vw)) {}
    }
}
