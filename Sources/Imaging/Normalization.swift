/// Per-channel normalisation x' = (x - mean) / std on values in 0...1,
/// the convention of torchvision's `Normalize` (e.g. ImageNet
/// mean 0.485/0.456/0.406, std 0.229/0.224/0.225).
public struct Normalization: Sendable, Equatable {
    public var mean: (Float, Float, Float)
    public var std: (Float, Float, Float)

    /// Missing entries default to mean 0 / std 1; zero or non-finite std
    /// entries are replaced by 1 so the output can never become inf/NaN.
    public init(mean: [Float], std: [Float]) {
        func at(_ a: [Float], _ i: Int, _ d: Float) -> Float { i < a.count && a[i].isFinite ? a[i] : d }
        func sd(_ i: Int) -> Float { let s = at(std, i, 1); return s == 0 ? 1 : s }
        self.mean = (at(mean, 0, 0), at(mean, 1, 0), at(mean, 2, 0))
        self.std = (sd(0), sd(1), sd(2))
    }

    public static func == (a: Normalization, b: Normalization) -> Bool {
        a.mean == b.mean && a.std == b.std
    }

    /// The same mapping applied to 0...255 input: (v/255 - mean)/std, folded
    /// into one multiply-add per value for the resampler's store.
    public var transformFrom255: ChannelTransform {
        ChannelTransform(scale: (1 / (255 * std.0), 1 / (255 * std.1), 1 / (255 * std.2)),
                         bias: (-mean.0 / std.0, -mean.1 / std.1, -mean.2 / std.2))
    }

    /// Normalises planar data in place; each plane holds `pixelsPerPlane`
    /// values in 0...1.
    public func apply(toPlanes planes: UnsafeMutablePointer<Float>, pixelsPerPlane n: Int) {
        let m = [mean.0, mean.1, mean.2], s = [std.0, std.1, std.2]
        for c in 0..<3 {
            let p = planes + c * n, mc = m[c], inv = 1 / s[c]
            for i in 0..<n { p[i] = (p[i] - mc) * inv }
        }
    }
}
