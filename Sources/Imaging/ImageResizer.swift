/// Public resize entry points over `RGBImage` (the steps `Preprocessor`
/// composes), for callers that need them separately (reports, demos, tests).
public enum ImageResizer {
    /// Resamples `region` of `image` to `size` and writes 3 planes (R, G, B;
    /// `3 * size.width * size.height` floats) of `value * scale + bias`, with
    /// `value` in 0...255. Area averaging when shrinking, bilinear when enlarging
    /// (chosen per axis). Non-positive `size` writes nothing.
    public static func resample(_ image: RGBImage, region: CropRegion? = nil, to size: ImageSize,
                                flipHorizontally: Bool = false,
                                transform: ChannelTransform = .identity,
                                into output: UnsafeMutablePointer<Float>) {
        guard size.width > 0, size.height > 0 else { return }
        image.withView { view in
            Resampler.resample(view, region: region ?? .full(image.size), width: size.width,
                               height: size.height, flip: flipHorizontally, transform: transform,
                               into: output)
        }
    }

    /// Convenience: returns a resized 8-bit RGB image (values rounded).
    /// Returns nil for a non-positive target size.
    public static func resize(_ image: RGBImage, region: CropRegion? = nil, to size: ImageSize) -> RGBImage? {
        guard size.width > 0, size.height > 0 else { return nil }
        let plane = size.width * size.height
        var planes = [Float](repeating: 0, count: plane * 3)
        planes.withUnsafeMutableBufferPointer { buf in
            guard let p = buf.baseAddress else { return }
            resample(image, region: region, to: size, into: p)
        }
        var pixels = [UInt8](repeating: 0, count: plane * 3)
        for i in 0..<plane {
            for c in 0..<3 {
                pixels[i * 3 + c] = UInt8(min(max(planes[c * plane + i].rounded(), 0), 255))
            }
        }
        return RGBImage(uncheckedWidth: size.width, height: size.height, pixels: pixels)
    }
}

/// Straightforward, slow reference implementation of area-averaging
/// downscale: every output pixel integrates the 2-D overlap with every source
/// pixel in its footprint, in Double. It shares no code with `Resampler`, so
/// tests comparing the two catch indexing and weighting bugs in the fast path.
public enum ReferenceResize {
    /// Returns planar 0...255 values (R plane, G plane, B plane).
    /// Only meaningful when shrinking on both axes (region >= size).
    public static func area(_ image: RGBImage, region: CropRegion? = nil, to size: ImageSize) -> [Float] {
        let r = region ?? .full(image.size)
        let plane = size.width * size.height
        var out = [Float](repeating: 0, count: plane * 3)
        let sx = r.width / Double(size.width), sy = r.height / Double(size.height)
        for oy in 0..<size.height {
            for ox in 0..<size.width {
                let x0 = r.x + Double(ox) * sx, x1 = x0 + sx
                let y0 = r.y + Double(oy) * sy, y1 = y0 + sy
                var sum = [0.0, 0.0, 0.0], total = 0.0
                var py = Int(y0.rounded(.down))
                while Double(py) < y1 {
                    var px = Int(x0.rounded(.down))
                    while Double(px) < x1 {
                        let ov = (min(x1, Double(px + 1)) - max(x0, Double(px)))
                            * (min(y1, Double(py + 1)) - max(y0, Double(py)))
                        if ov > 0, px >= 0, py >= 0, px < image.width, py < image.height {
                            let p = image[px, py]
                            sum[0] += ov * Double(p.r); sum[1] += ov * Double(p.g); sum[2] += ov * Double(p.b)
                            total += ov
                        }
                        px += 1
                    }
                    py += 1
                }
                for c in 0..<3 {
                    out[c * plane + oy * size.width + ox] = total > 0 ? Float(sum[c] / total) : 0
                }
            }
        }
        return out
    }
}
