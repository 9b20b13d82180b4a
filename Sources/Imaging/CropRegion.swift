/// A rectangle in source-image pixel coordinates (display orientation).
/// Fractional edges are allowed and honoured by the resampler, so crops
/// computed from scale factors need no rounding (rounding shifts content by
/// up to half a pixel, which matters at 64x64 model inputs).
public struct CropRegion: Sendable, Equatable {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    /// The whole image.
    public static func full(_ size: ImageSize) -> CropRegion {
        CropRegion(x: 0, y: 0, width: Double(size.width), height: Double(size.height))
    }

    /// Clamps the region into `[0, size]` and guarantees a positive extent.
    func clamped(to size: ImageSize) -> CropRegion {
        let w = Double(size.width), h = Double(size.height)
        let x0 = min(max(x.isFinite ? x : 0, 0), w), y0 = min(max(y.isFinite ? y : 0, 0), h)
        var x1 = min(max((x + width).isFinite ? x + width : w, 0), w)
        var y1 = min(max((y + height).isFinite ? y + height : h, 0), h)
        if x1 - x0 < 1e-6 { x1 = min(w, x0 + 1e-6) }
        if y1 - y0 < 1e-6 { y1 = min(h, y0 + 1e-6) }
        let cx0 = min(x0, x1 - 1e-6), cy0 = min(y0, y1 - 1e-6)
        return CropRegion(x: max(0, cx0), y: max(0, cy0), width: x1 - max(0, cx0), height: y1 - max(0, cy0))
    }
}

/// Per-channel affine map applied as pixels are written: out = v * scale + bias,
/// where v is the resampled value in 0...255. Folding normalisation into the
/// resampler's store saves a full pass over the output tensor.
public struct ChannelTransform: Sendable, Equatable {
    public var scale: (Float, Float, Float)
    public var bias: (Float, Float, Float)

    public init(scale: (Float, Float, Float), bias: (Float, Float, Float)) {
        self.scale = scale
        self.bias = bias
    }

    /// Raw 0...255 values.
    public static let identity = ChannelTransform(scale: (1, 1, 1), bias: (0, 0, 0))
    /// Values scaled to 0...1.
    public static let unit = ChannelTransform(scale: (1 / 255, 1 / 255, 1 / 255), bias: (0, 0, 0))

    public static func == (a: ChannelTransform, b: ChannelTransform) -> Bool {
        a.scale == b.scale && a.bias == b.bias
    }
}
