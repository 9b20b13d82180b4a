import CPNG

/// Owns one `png_image` control structure of libpng's simplified API.
///
/// The struct lives at a stable heap address because libpng keeps internal
/// pointers to it between `begin_read` and `finish_read`; `deinit` calls
/// `png_image_free`, which is a no-op once libpng has already released it.
final class PNGImageHandle {
    let image: UnsafeMutablePointer<png_image>

    init() {
        image = .allocate(capacity: 1)
        image.initialize(to: png_image())
        image.pointee.version = imaging_png_image_version
    }

    deinit {
        png_image_free(image)
        image.deallocate()
    }

    /// libpng's fixed 64-byte diagnostic buffer as a String.
    var message: String {
        let text = withUnsafeBytes(of: image.pointee.message) { raw -> String in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
        return text.isEmpty ? "unknown libpng error" : text
    }
}

/// PNG decoding via the simplified API, which handles every bit depth
/// (1-16), gray, palette, tRNS and alpha and reports errors by return value.
enum PNGDecoder {
    /// Alpha is composited onto opaque white: the classifier takes RGB, and
    /// white is how transparent product shots and logos are usually shown.
    /// The blend is done by us in 8-bit sRGB (out = c*a + 255*(1-a)), not by
    /// libpng's `background` option, which blends in linear light (50% black
    /// on white gives 186 instead of 128). sRGB blending is what PIL's
    /// paste-on-white does in typical PyTorch training pipelines, so serving
    /// matches training.
    static func compositeOnWhiteInPlace(_ p: UnsafeMutablePointer<UInt8>, pixelCount: Int) {
        for i in 0..<pixelCount {
            let a = UInt32(p[i * 4 + 3]), inv = 255 - a
            for c in 0..<3 {
                p[i * 3 + c] = UInt8((UInt32(p[i * 4 + c]) * a + 255 * inv + 127) / 255)
            }
        }
    }

    static func decode(_ bytes: UnsafeRawBufferPointer, limits: ImagingLimits) throws(ImagingError) -> RGBImage {
        guard let base = bytes.baseAddress else { throw .empty }
        let handle = PNGImageHandle()
        let image = handle.image
        guard png_image_begin_read_from_memory(image, base, bytes.count) != 0 else {
            throw .corrupt(reason: "invalid PNG header: \(handle.message)")
        }
        let width = Int(image.pointee.width), height = Int(image.pointee.height)
        try limits.checkDimensions(width: width, height: height)

        // 16-bit PNGs without gAMA/sRGB chunks are sRGB in practice; without
        // this flag libpng would treat them as linear and brighten them.
        image.pointee.flags |= imaging_png_flag_16bit_srgb
        // The file's format has the alpha flag for RGBA/GA and for tRNS.
        let hasAlpha = image.pointee.format & imaging_png_format_flag_alpha != 0
        image.pointee.format = hasAlpha ? imaging_png_format_rgba : imaging_png_format_rgb
        let channels = hasAlpha ? 4 : 3
        let (pixelCount, o1) = width.multipliedReportingOverflow(by: height)
        let (byteCount, o2) = pixelCount.multipliedReportingOverflow(by: channels)
        guard !o1, !o2 else { throw .tooLarge(width: width, height: height) }

        var failure: String?
        var pixels = [UInt8](unsafeUninitializedCapacity: byteCount) { buffer, initialized in
            guard let dst = buffer.baseAddress,
                  png_image_finish_read(image, nil, dst, 0, nil) != 0 else {
                failure = handle.message
                initialized = 0
                return
            }
            // RGBA -> RGB in place: the RGB result is a prefix of the buffer.
            if hasAlpha { compositeOnWhiteInPlace(dst, pixelCount: pixelCount) }
            initialized = pixelCount * 3
        }
        if let failure { throw .corrupt(reason: failure) }
        if hasAlpha { pixels.removeLast(pixels.count - pixelCount * 3) }
        return RGBImage(uncheckedWidth: width, height: height, pixels: pixels)
    }
}
