import Tensor

/// Training-time preprocessing: random resized crop, horizontal flip and
/// colour jitter, written into the same NCHW layout as `Preprocessor`.
public enum Augmenter {
    /// Decodes and augments one image into `output` (`spec.floatsPerImage`
    /// floats). `spec.resizeMode` is ignored (the random crop replaces it);
    /// `spec.mean/std` are applied last. Deterministic for a given generator state.
    public static func augment(_ bytes: UnsafeRawBufferPointer, spec: PreprocessSpec,
                               augmentation: AugmentationSpec = .init(),
                               limits: ImagingLimits = .default, rng: inout SeededGenerator,
                               into output: UnsafeMutablePointer<Float>) throws(ImagingError) {
        try spec.validate()
        let image = try ImageDecoder.decodeOriented(bytes, limits: limits) {
            augmentation.minimumDecodeSize(for: $0, output: spec)
        }
        write(image, spec: spec, augmentation: augmentation, rng: &rng, into: output)
    }

    public static func augment(_ bytes: [UInt8], spec: PreprocessSpec, augmentation: AugmentationSpec = .init(),
                               limits: ImagingLimits = .default, rng: inout SeededGenerator,
                               into output: UnsafeMutablePointer<Float>) throws(ImagingError) {
        try bytes.withImagingBytes { (raw) throws(ImagingError) in
            try augment(raw, spec: spec, augmentation: augmentation, limits: limits, rng: &rng, into: output)
        }
    }

    /// Augments an already decoded (upright) image.
    public static func augment(_ image: RGBImage, spec: PreprocessSpec, augmentation: AugmentationSpec = .init(),
                               rng: inout SeededGenerator,
                               into output: UnsafeMutablePointer<Float>) throws(ImagingError) {
        try spec.validate()
        write(OrientedImage(stored: image, orientation: .up), spec: spec, augmentation: augmentation,
              rng: &rng, into: output)
    }

    static func write(_ image: OrientedImage, spec: PreprocessSpec, augmentation: AugmentationSpec,
                      rng: inout SeededGenerator, into output: UnsafeMutablePointer<Float>) {
        let d = augmentation.draw(for: image.displaySize, rng: &rng)
        image.withView { view in
            Resampler.resample(view, region: d.region, width: spec.width, height: spec.height,
                               flip: d.flip, transform: .unit, into: output)
        }
        let n = spec.width * spec.height
        ColorJitter.apply(planes: output, pixelsPerPlane: n, brightness: d.brightness,
                          contrast: d.contrast, saturation: d.saturation)
        spec.normalization.apply(toPlanes: output, pixelsPerPlane: n)
    }
}

/// torchvision-style colour jitter on planar 0...1 data, in a fixed order
/// (brightness, contrast, saturation), clamped to 0...1 after each step.
enum ColorJitter {
    static func apply(planes p: UnsafeMutablePointer<Float>, pixelsPerPlane n: Int,
                      brightness: Float, contrast: Float, saturation: Float) {
        let r = p, g = p + n, b = p + 2 * n
        @inline(__always) func clamp(_ v: Float) -> Float { min(max(v, 0), 1) }
        @inline(__always) func gray(_ i: Int) -> Float { 0.299 * r[i] + 0.587 * g[i] + 0.114 * b[i] }
        if brightness != 1 {
            for i in 0..<(3 * n) { p[i] = clamp(p[i] * brightness) }
        }
        if contrast != 1 {
            var sum: Float = 0
            for i in 0..<n { sum += gray(i) }
            let mean = sum / Float(max(n, 1))
            for i in 0..<(3 * n) { p[i] = clamp((p[i] - mean) * contrast + mean) }
        }
        if saturation != 1 {
            for i in 0..<n {
                let y = gray(i)
                r[i] = clamp((r[i] - y) * saturation + y)
                g[i] = clamp((g[i] - y) * saturation + y)
                b[i] = clamp((b[i] - y) * saturation + y)
            }
        }
    }
}
