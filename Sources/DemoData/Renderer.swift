// Pattern rendering. Coordinates are resolution independent: pixel (x, y) has centre
// (u, v) = ((x + 0.5) / size, (y + 0.5) / size) in [0, 1]², so an image looks the same at 32 and 128
// pixels apart from detail. Each family computes a foreground coverage mask m ∈ [0, 1] with ~1-pixel
// anti-aliased edges; then colour = mix(background gradient, foreground gradient, m) + pixel noise.
//
// Rule that makes the decision boundary exact: every random draw below happens in the same order and
// from the same distributions for both classes of a family; only the morph parameter `s` differs.

enum Renderer {
    static func render(family: Family, morph s: Float, size n: Int, rng: inout SplitMix64,
                       into out: UnsafeMutableBufferPointer<UInt8>) {
        let inv = 1 / Float(n)
        let aa = inv  // width of the anti-aliasing ramp in normalised units (one pixel)

        // ---- colours (shared nuisance parameters) ----
        var bg = (Float(rng.unit()), Float(rng.unit()), Float(rng.unit()))
        var fg = (Float(rng.unit()), Float(rng.unit()), Float(rng.unit()))
        let contrast = rng.uniformF(0.2, 0.7)
        ensureContrast(bg: bg, fg: &fg, contrast: contrast)
        if rng.unit() < 0.5 { swap(&bg, &fg); ensureContrast(bg: bg, fg: &fg, contrast: contrast) }
        let bgDelta = (rng.uniformF(-0.15, 0.15), rng.uniformF(-0.15, 0.15), rng.uniformF(-0.15, 0.15))
        let fgDelta = (rng.uniformF(-0.10, 0.10), rng.uniformF(-0.10, 0.10), rng.uniformF(-0.10, 0.10))
        let bgDir = DetMath.sinCos(rng.uniform(0, 2 * DetMath.pi))
        let fgDir = DetMath.sinCos(rng.uniform(0, 2 * DetMath.pi))
        let noiseAmp = rng.uniformF(0.005, 0.14)  // half-width of uniform noise (σ ≈ amp / √3)

        // ---- family mask ----
        var mask = [Float](repeating: 0, count: n * n)
        mask.withUnsafeMutableBufferPointer { m in
            switch family {
            case .noise: noiseMask(s: s, n: n, rng: &rng, mask: m)
            case .pattern: patternMask(s: s, n: n, aa: aa, rng: &rng, mask: m)
            case .shape: shapeMask(s: s, n: n, aa: aa, rng: &rng, mask: m)
            case .spots: spotsMask(s: s, n: n, aa: aa, rng: &rng, mask: m)
            case .stripes: stripesMask(s: s, n: n, aa: aa, rng: &rng, mask: m)
            }
        }

        // ---- composite ----
        let bgc = Float(bgDir.cos), bgs = Float(bgDir.sin)
        let fgc = Float(fgDir.cos), fgs = Float(fgDir.sin)
        let noiseScale = noiseAmp / Float(1 << 20)
        mask.withUnsafeBufferPointer { m in
            var i = 0
            for y in 0..<n {
                let v = (Float(y) + 0.5) * inv - 0.5
                for x in 0..<n {
                    let u = (Float(x) + 0.5) * inv - 0.5
                    let tb = u * bgc + v * bgs        // in about [-0.71, 0.71]
                    let tf = u * fgc + v * fgs
                    let k = m[i]
                    let bits = rng.next()
                    let n0 = Float(Int(bits & 0x1F_FFFF) - (1 << 20)) * noiseScale
                    let n1 = Float(Int((bits >> 21) & 0x1F_FFFF) - (1 << 20)) * noiseScale
                    let n2 = Float(Int((bits >> 42) & 0x1F_FFFF) - (1 << 20)) * noiseScale
                    let b0 = bg.0 + bgDelta.0 * tb, b1 = bg.1 + bgDelta.1 * tb, b2 = bg.2 + bgDelta.2 * tb
                    let f0 = fg.0 + fgDelta.0 * tf, f1 = fg.1 + fgDelta.1 * tf, f2 = fg.2 + fgDelta.2 * tf
                    let o = 3 * i
                    out[o] = quantize(b0 + (f0 - b0) * k + n0)
                    out[o + 1] = quantize(b1 + (f1 - b1) * k + n1)
                    out[o + 2] = quantize(b2 + (f2 - b2) * k + n2)
                    i += 1
                }
            }
        }
    }

    @inline(__always)
    static func quantize(_ x: Float) -> UInt8 {
        UInt8(truncatingIfNeeded: Int(clamp01(x) * 255 + 0.5))
    }

    @inline(__always)
    static func luminance(_ c: (Float, Float, Float)) -> Float { 0.299 * c.0 + 0.587 * c.1 + 0.114 * c.2 }

    /// Pushes `fg` toward white (dark background) or black (light background) until its luminance
    /// differs from the background's by at least `contrast` (or it is pure white/black).
    static func ensureContrast(bg: (Float, Float, Float), fg: inout (Float, Float, Float), contrast: Float) {
        let lb = luminance(bg), lf = luminance(fg)
        if abs(lf - lb) >= contrast { return }
        if lb < 0.5 {
            let t = lf >= 1 ? 1 : clamp01((lb + contrast - lf) / (1 - lf))
            fg = (fg.0 + t * (1 - fg.0), fg.1 + t * (1 - fg.1), fg.2 + t * (1 - fg.2))
        } else {
            let t = lf <= 0 ? 1 : clamp01(1 - (lb - contrast) / lf)
            fg = (fg.0 * (1 - t), fg.1 * (1 - t), fg.2 * (1 - t))
        }
    }

    // MARK: noise-blobs ↔ noise-grass

    /// Thresholded value noise. s = 0: 2.5–4.5 isotropic cells across (blobs);
    /// s = 1: 14–18 cells across and 4.5–6.5× fewer vertically (vertical blades).
    static func noiseMask(s: Float, n: Int, rng: inout SplitMix64, mask: UnsafeMutableBufferPointer<Float>) {
        let blobCells = rng.uniformF(2.5, 4.5)
        let grassCells = rng.uniformF(14, 18)
        let stretch = rng.uniformF(4.5, 6.5)
        let threshold = rng.uniformF(0.42, 0.58)
        let softness = rng.uniformF(0.03, 0.10)
        let ox = Float(rng.unit()), oy = Float(rng.unit())
        let gx = blobCells + (grassCells - blobCells) * s
        let gy = blobCells + (grassCells / stretch - blobCells) * s
        // Fixed-size lattice, big enough for every s (≤ 20 columns, ≤ 7 rows are touched), so the
        // number of random draws does not depend on s.
        let cols = 22, rows = 9
        var lattice = [Float](repeating: 0, count: cols * rows)
        for j in 0..<lattice.count { lattice[j] = Float(rng.unit()) }
        let inv = 1 / Float(n)
        let invSoft = 1 / softness
        lattice.withUnsafeBufferPointer { L in
            var i = 0
            for y in 0..<n {
                let Y = ((Float(y) + 0.5) * inv) * gy + oy
                let iy = Int(Y)
                var fy = Y - Float(iy)
                fy = fy * fy * (3 - 2 * fy)
                for x in 0..<n {
                    let X = ((Float(x) + 0.5) * inv) * gx + ox
                    let ix = Int(X)
                    var fx = X - Float(ix)
                    fx = fx * fx * (3 - 2 * fx)
                    let p = iy * cols + ix
                    let top = L[p] + (L[p + 1] - L[p]) * fx
                    let bottom = L[p + cols] + (L[p + cols + 1] - L[p + cols]) * fx
                    let value = top + (bottom - top) * fy
                    mask[i] = clamp01((value - threshold) * invSoft + 0.5)
                    i += 1
                }
            }
        }
    }

    // MARK: pattern-checker ↔ pattern-crosshatch

    /// Rotated checkerboard cross-fading into a rotated grid of lines with the same cell.
    static func patternMask(s: Float, n: Int, aa: Float, rng: inout SplitMix64, mask: UnsafeMutableBufferPointer<Float>) {
        let angle = DetMath.sinCos(rng.uniform(0, DetMath.halfPi))
        let period = rng.uniformF(0.14, 0.28)
        let lineWidth = rng.uniformF(0.14, 0.28) * period
        let ox = Float(rng.unit()), oy = Float(rng.unit())
        let c = Float(angle.cos) / period, sn = Float(angle.sin) / period
        let inv = 1 / Float(n)
        let invAA = 1 / aa
        let halfLine = lineWidth / 2
        var i = 0
        for y in 0..<n {
            let v = (Float(y) + 0.5) * inv - 0.5
            for x in 0..<n {
                let u = (Float(x) + 0.5) * inv - 0.5
                let fx = fract(u * c + v * sn + ox)
                let fy = fract(-u * sn + v * c + oy)
                // checker: signed distance to the cell-half boundaries, sign = parity
                let sx = (fx < 0.5 ? min(fx, 0.5 - fx) : -min(fx - 0.5, 1 - fx)) * period
                let sy = (fy < 0.5 ? min(fy, 0.5 - fy) : -min(fy - 0.5, 1 - fy)) * period
                let sdChecker = (sx * sy >= 0 ? 1 : -1) * min(abs(sx), abs(sy))
                // grid lines through the cell corners
                let lx = halfLine - min(fx, 1 - fx) * period
                let ly = halfLine - min(fy, 1 - fy) * period
                let mChecker = clamp01(0.5 + sdChecker * invAA)
                let mHatch = clamp01(0.5 + max(lx, ly) * invAA)
                mask[i] = mChecker + (mHatch - mChecker) * s
                i += 1
            }
        }
    }

    // MARK: shape-square ↔ shape-triangle

    /// One filled convex quad with local corners (-w,-1), (w,-1), (t·w,1), (-t·w,1), t = 1 - s,
    /// scaled, rotated and placed at random: the top edge shrinks from full width (square, s = 0)
    /// through trapezoids to a point (triangle, s = 1).
    static func shapeMask(s: Float, n: Int, aa: Float, rng: inout SplitMix64, mask: UnsafeMutableBufferPointer<Float>) {
        let half = rng.uniform(0.17, 0.28)
        let aspect = rng.uniform(0.85, 1.15)
        let rot = DetMath.sinCos(rng.uniform(0, 2 * DetMath.pi))
        let extent = min(0.5, 1.3 * half)
        let cx = rng.uniform(extent, 1 - extent), cy = rng.uniform(extent, 1 - extent)
        let top = 1 - Double(s)  // s = 0 → square (top half-width 1), s = 1 → triangle (apex)
        let local: [(Double, Double)] = [(-aspect, -1), (aspect, -1), (top * aspect, 1), (-top * aspect, 1)]
        let pts = local.map { p -> (Double, Double) in
            (cx + half * (p.0 * rot.cos - p.1 * rot.sin), cy + half * (p.0 * rot.sin + p.1 * rot.cos))
        }
        // Edges as half-planes: inward unit normal (nx, ny) and offset d, sd = nx*u + ny*v - d.
        var edges: [(Float, Float, Float)] = []
        for k in 0..<4 {
            let p0 = pts[k], p1 = pts[(k + 1) % 4]
            let dx = p1.0 - p0.0, dy = p1.1 - p0.1
            let len = (dx * dx + dy * dy).squareRoot()
            if len < 1e-6 { continue }
            let nx = -dy / len, ny = dx / len
            edges.append((Float(nx), Float(ny), Float(nx * p0.0 + ny * p0.1)))
        }
        let inv = 1 / Float(n)
        let invAA = 1 / aa
        var i = 0
        for y in 0..<n {
            let v = (Float(y) + 0.5) * inv
            for x in 0..<n {
                let u = (Float(x) + 0.5) * inv
                var sd = Float.greatestFiniteMagnitude
                for e in edges { sd = min(sd, e.0 * u + e.1 * v - e.2) }
                mask[i] = clamp01(0.5 + sd * invAA)
                i += 1
            }
        }
    }

    // MARK: spots-dots ↔ spots-rings

    /// 3–7 discs of radius 0.08–0.15; the hole radius grows from 0 (dots) to 50–70% of the radius (rings).
    static func spotsMask(s: Float, n: Int, aa: Float, rng: inout SplitMix64, mask: UnsafeMutableBufferPointer<Float>) {
        let count = 3 + rng.int(below: 5)
        let holeFraction = rng.uniformF(0.5, 0.7)
        let invAA = 1 / aa
        let inv = 1 / Float(n)
        for _ in 0..<count {
            let r = rng.uniformF(0.08, 0.15)
            let cx = rng.uniformF(Double(r), 1 - Double(r)), cy = rng.uniformF(Double(r), 1 - Double(r))
            let hole = s * holeFraction * r
            let holeStrength = min(hole * invAA, 1)  // fades the hole in over its first pixel
            let reach = r + aa
            let x0 = max(0, Int(((cx - reach) * Float(n)).rounded(.down)))
            let x1 = min(n - 1, Int(((cx + reach) * Float(n)).rounded(.up)))
            let y0 = max(0, Int(((cy - reach) * Float(n)).rounded(.down)))
            let y1 = min(n - 1, Int(((cy + reach) * Float(n)).rounded(.up)))
            if x0 > x1 || y0 > y1 { continue }
            for y in y0...y1 {
                let dy = (Float(y) + 0.5) * inv - cy
                for x in x0...x1 {
                    let dx = (Float(x) + 0.5) * inv - cx
                    let d = (dx * dx + dy * dy).squareRoot()
                    let outer = clamp01(0.5 + (r - d) * invAA)
                    let inner = clamp01(0.5 + (hole - d) * invAA) * holeStrength
                    let value = outer * (1 - inner)
                    let i = y * n + x
                    if value > mask[i] { mask[i] = value }
                }
            }
        }
    }

    // MARK: stripes-horizontal ↔ stripes-vertical

    /// Square-wave stripes with soft edges; line angle = s·90° ± 12°.
    static func stripesMask(s: Float, n: Int, aa: Float, rng: inout SplitMix64, mask: UnsafeMutableBufferPointer<Float>) {
        let jitter = rng.uniform(-12, 12) * DetMath.pi / 180
        let period = rng.uniformF(0.125, 0.25)
        let duty = rng.uniformF(0.35, 0.65)
        let phase = Float(rng.unit())
        let softness = max(aa, rng.uniformF(0, 0.25) * period)
        let angle = DetMath.sinCos(Double(s) * DetMath.halfPi + jitter)
        // Normal to the lines: horizontal lines (angle 0) vary along v.
        let nx = Float(-angle.sin) / period, ny = Float(angle.cos) / period
        let inv = 1 / Float(n)
        let invSoft = 1 / softness
        var i = 0
        for y in 0..<n {
            let v = (Float(y) + 0.5) * inv - 0.5
            for x in 0..<n {
                let u = (Float(x) + 0.5) * inv - 0.5
                let f = fract(u * nx + v * ny + phase)
                let sd = (f < duty ? min(f, duty - f) : -min(f - duty, 1 - f)) * period
                mask[i] = clamp01(0.5 + sd * invSoft)
                i += 1
            }
        }
    }
}
