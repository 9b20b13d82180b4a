import Foundation

/// Small helpers shared by the SVG charts. Every number written into SVG goes through
/// `SVG.n(_:)`, which never emits NaN/Infinity.
enum SVG {
    /// Coordinate formatting: finite values with at most 2 decimals; non-finite → "0".
    static func n(_ x: Double) -> String {
        guard x.isFinite else { return "0" }
        let clamped = min(max(x, -1e7), 1e7)
        var s = String(format: "%.2f", clamped)
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        if s == "-0" { s = "0" }
        return s
    }

    /// Linear map from a data domain to a pixel range (degenerate domains map to the middle).
    struct Scale {
        var d0: Double, d1: Double, r0: Double, r1: Double
        func callAsFunction(_ x: Double) -> Double {
            let span = d1 - d0
            guard span.isFinite, span != 0, x.isFinite else { return (r0 + r1) / 2 }
            return r0 + (x - d0) / span * (r1 - r0)
        }
    }

    /// "Nice" step (1, 2, 5 × 10^k) for roughly `count` intervals across `span`.
    static func niceStep(_ span: Double, count: Int) -> Double {
        guard span.isFinite, span > 0 else { return 1 }
        let raw = span / Double(max(count, 1))
        let mag = pow(10, floor(log10(raw)))
        let norm = raw / mag
        let f: Double = norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10
        return f * mag
    }

    /// A nice domain covering [lo, hi] and its tick values.
    static func niceDomain(_ lo: Double, _ hi: Double, count: Int = 5) -> (lo: Double, hi: Double, ticks: [Double], step: Double) {
        var lo = lo, hi = hi
        if !lo.isFinite || !hi.isFinite { lo = 0; hi = 1 }
        if hi < lo { swap(&lo, &hi) }
        if hi - lo < 1e-12 {
            let pad = abs(lo) > 1e-12 ? abs(lo) * 0.1 : 0.5
            lo -= pad; hi += pad
        }
        let step = niceStep(hi - lo, count: count)
        let nlo = floor(lo / step + 1e-9) * step
        let nhi = ceil(hi / step - 1e-9) * step
        var ticks: [Double] = []
        var t = nlo
        var guardCount = 0
        while t <= nhi + step * 1e-6 && guardCount < 100 {
            ticks.append(abs(t) < step * 1e-9 ? 0 : t)
            t += step
            guardCount += 1
        }
        return (nlo, nhi, ticks, step)
    }

    /// Tick label with just enough decimals for `step`.
    static func tickLabel(_ v: Double, step: Double, percent: Bool = false) -> String {
        let value = percent ? v * 100 : v
        let st = percent ? step * 100 : step
        guard value.isFinite else { return "" }
        if abs(value) >= 1e5 || (abs(value) > 0 && abs(value) < 1e-4) {
            return String(format: "%.1e", value)
        }
        let decimals = st > 0 && st.isFinite ? max(0, min(6, Int(-floor(log10(st) + 1e-9)))) : 2
        let s = String(format: "%.\(decimals)f", value)
        return percent ? s + "%" : s
    }
}

/// Colours.
enum Palette {
    /// 20 well-separated categorical colours (Tableau 10 followed by 10 further distinct hues);
    /// beyond 20 classes, golden-angle HSL hues are generated.
    static let categorical: [String] = [
        "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
        "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
        "#1f3c88", "#a0cbe8", "#8cd17d", "#b6992d", "#d37295",
        "#86bcb6", "#fabfd2", "#499894", "#d4a6c8", "#79706e",
    ]

    static func color(_ index: Int) -> String {
        if index < 0 { return "#7f7f7f" }
        if index < categorical.count { return categorical[index] }
        let hue = (Double(index) * 137.508).truncatingRemainder(dividingBy: 360)
        let light = 42 + (index % 3) * 10
        return "hsl(\(Int(hue)),62%,\(light)%)"
    }

    /// Sequential blue scale for v in [0, 1] (ColorBrewer "Blues"-like), as "rgb(r,g,b)".
    static func blues(_ v: Double) -> String {
        let stops: [(Double, Double, Double)] = [
            (247, 251, 255), (198, 219, 239), (107, 174, 214), (33, 113, 181), (8, 48, 107),
        ]
        let x = v.isFinite ? min(max(v, 0), 1) : 0
        let pos = x * Double(stops.count - 1)
        let i = min(Int(pos), stops.count - 2)
        let t = pos - Double(i)
        let a = stops[i], b = stops[i + 1]
        func lerp(_ p: Double, _ q: Double) -> Int { Int((p + (q - p) * t).rounded()) }
        return "rgb(\(lerp(a.0, b.0)),\(lerp(a.1, b.1)),\(lerp(a.2, b.2)))"
    }
}
