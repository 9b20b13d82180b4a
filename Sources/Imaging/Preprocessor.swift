/// Decode + resize + normalise, writing straight into the caller's NCHW batch.
public enum Preprocessor {
    /// Decodes `bytes` and writes one image (3 planes of `spec.height x spec.width`
    /// floats, R then G then B) to `output`, which must have room for
    /// `spec.floatsPerImage` floats — typically `batch + index * spec.floatsPerImage`.
    /// The decoded RGB buffer is the only per-image allocation of pixel size.
    public static func preprocess(_ bytes: UnsafeRawBufferPointer, spec: PreprocessSpec,
                                  limits: ImagingLimits = .default,
                                  into output: UnsafeMutablePointer<Float>) throws(ImagingError) {
        try spec.validate()
        let image = try ImageDecoder.decodeOriented(bytes, limits: limits) { spec.minimumDecodeSize(for: $0) }
        write(image, spec: spec, into: output)
    }

    public static func preprocess(_ bytes: [UInt8], spec: PreprocessSpec,
                                  limits: ImagingLimits = .default,
                                  into output: UnsafeMutablePointer<Float>) throws(ImagingError) {
        try bytes.withImagingBytes { (raw) throws(ImagingError) in
            try preprocess(raw, spec: spec, limits: limits, into: output)
        }
    }

    /// Preprocesses an already decoded (upright) image.
    public static func preprocess(_ image: RGBImage, spec: PreprocessSpec,
                                  into output: UnsafeMutablePointer<Float>) throws(ImagingError) {
        try spec.validate()
        write(OrientedImage(stored: image, orientation: .up), spec: spec, into: output)
    }

    static func write(_ image: OrientedImage, spec: PreprocessSpec, into output: UnsafeMutablePointer<Float>) {
        let region = spec.region(for: image.displaySize)
        image.withView { view in
            Resampler.resample(view, region: region, width: spec.width, height: spec.height, flip: false,
                               transform: spec.normalization.transformFrom255, into: output)
        }
    }
}
