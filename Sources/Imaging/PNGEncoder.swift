import CPNG

/// PNG encoding via `png_image_write_to_memory` (simplified API).
public enum PNGEncoder {
    public enum Channels: Int, Sendable, CaseIterable {
        case gray = 1, grayAlpha = 2, rgb = 3, rgba = 4
        var format: png_uint_32 {
            switch self {
            case .gray: return imaging_png_format_gray
            case .grayAlpha: return imaging_png_format_ga
            case .rgb: return imaging_png_format_rgb
            case .rgba: return imaging_png_format_rgba
            }
        }
    }

    public static func encode(_ image: RGBImage) throws(ImagingError) -> [UInt8] {
        try encode(pixels: image.pixels, width: image.width, height: image.height, channels: .rgb)
    }

    /// Encodes 8-bit interleaved samples (`width*height*channels.rawValue` bytes).
    /// 16-bit output is not offered: the simplified API writes 16-bit as
    /// *linear* light, which would silently change the meaning of the data.
    public static func encode(pixels: [UInt8], width: Int, height: Int,
                              channels: Channels) throws(ImagingError) -> [UInt8] {
        guard width > 0, height > 0, width <= 1_000_000, height <= 1_000_000 else {
            throw .invalidArgument(reason: "cannot encode a \(width)x\(height) PNG")
        }
        let (n, o1) = width.multipliedReportingOverflow(by: height)
        let (bytes, o2) = n.multipliedReportingOverflow(by: channels.rawValue)
        guard !o1, !o2, pixels.count == bytes else {
            throw .invalidArgument(reason: "pixel buffer has \(pixels.count) bytes, expected \(width)x\(height)x\(channels.rawValue)")
        }
        let handle = PNGImageHandle()
        handle.image.pointee.width = png_uint_32(width)
        handle.image.pointee.height = png_uint_32(height)
        handle.image.pointee.format = channels.format
        return try pixels.withImagingBytes { (src) throws(ImagingError) -> [UInt8] in
            // First call measures, second call writes.
            var size = 0
            guard png_image_write_to_memory(handle.image, nil, &size, 0, src.baseAddress, 0, nil) != 0,
                  size > 0 else {
                throw .codecFailure(reason: "PNG encoding failed: \(handle.message)")
            }
            var out = [UInt8](repeating: 0, count: size)
            let ok = out.withUnsafeMutableBytes { dst in
                png_image_write_to_memory(handle.image, dst.baseAddress, &size, 0, src.baseAddress, 0, nil)
            }
            guard ok != 0, size <= out.count else {
                throw .codecFailure(reason: "PNG encoding failed: \(handle.message)")
            }
            out.removeLast(out.count - size)
            return out
        }
    }
}
