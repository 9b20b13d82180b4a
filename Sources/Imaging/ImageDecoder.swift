/// Public decoding entry points: sniff, enforce limits, decode, orient.
public enum ImageDecoder {
    /// Decodes JPEG or PNG bytes into upright (EXIF-applied) 8-bit RGB.
    ///
    /// - Parameter minimumSize: if given, a JPEG may be decoded at a reduced
    ///   DCT scale (1/8 steps) as long as the result is at least this large in
    ///   both dimensions (display orientation). The result is never enlarged,
    ///   so it can be smaller than `minimumSize` when the image is.
    /// - Throws: `ImagingError` for every failure; never traps on any input.
    public static func decode(_ bytes: [UInt8], minimumSize: ImageSize? = nil,
                              limits: ImagingLimits = .default) throws(ImagingError) -> RGBImage {
        try bytes.withImagingBytes { (raw) throws(ImagingError) -> RGBImage in
            try decode(raw, minimumSize: minimumSize, limits: limits)
        }
    }

    /// Same as the `[UInt8]` overload, without copying the caller's bytes.
    public static func decode(_ bytes: UnsafeRawBufferPointer, minimumSize: ImageSize? = nil,
                              limits: ImagingLimits = .default) throws(ImagingError) -> RGBImage {
        try decodeOriented(bytes, limits: limits) { _ in minimumSize }.displayImage()
    }

    /// Internal workhorse: the decoded image stays in stored orientation so
    /// preprocessing can read it through a rotated view without a copy.
    /// `minimumSize` receives the full display size and returns the smallest
    /// acceptable decoded size (display orientation), or nil for full size.
    static func decodeOriented(_ bytes: UnsafeRawBufferPointer, limits: ImagingLimits,
                               minimumSize: (ImageSize) -> ImageSize?) throws(ImagingError) -> OrientedImage {
        try limits.checkEncoded(count: bytes.count)
        switch ImageFormat.sniff(bytes) {
        case .jpeg?:
            return try JPEGDecoder.decode(bytes, limits: limits, minimumSize: minimumSize)
        case .png?:
            let image = try PNGDecoder.decode(bytes, limits: limits)
            _ = minimumSize(image.size)
            return OrientedImage(stored: image, orientation: .up)
        case nil:
            throw .unsupportedFormat
        }
    }
}
