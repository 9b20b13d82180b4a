import CTurboJPEG

/// JPEG encoding through TurboJPEG (`tjCompress2`). Used by tests, demo data
/// and reports; the server itself only decodes.
public enum JPEGEncoder {
    public enum Subsampling: Sendable, CaseIterable {
        case s444, s422, s420
        var tj: Int32 {
            switch self {
            case .s444: return Int32(TJSAMP_444.rawValue)
            case .s422: return Int32(TJSAMP_422.rawValue)
            case .s420: return Int32(TJSAMP_420.rawValue)
            }
        }
    }

    /// Encodes RGB. `quality` is clamped to 1...100.
    public static func encode(_ image: RGBImage, quality: Int = 90, subsampling: Subsampling = .s420,
                              progressive: Bool = false) throws(ImagingError) -> [UInt8] {
        try encode(pixels: image.pixels, width: image.width, height: image.height, channels: 3,
                   format: Int32(TJPF_RGB.rawValue), subsamp: subsampling.tj, quality: quality,
                   progressive: progressive)
    }

    /// Encodes an 8-bit grayscale image (`width*height` bytes) as a 1-component JPEG.
    public static func encodeGray(_ pixels: [UInt8], width: Int, height: Int, quality: Int = 90,
                                  progressive: Bool = false) throws(ImagingError) -> [UInt8] {
        try encode(pixels: pixels, width: width, height: height, channels: 1,
                   format: Int32(TJPF_GRAY.rawValue), subsamp: Int32(TJSAMP_GRAY.rawValue),
                   quality: quality, progressive: progressive)
    }

    /// Encodes inverted (Adobe-convention) CMYK, `width*height*4` bytes, as a
    /// YCCK JPEG — mainly so tests can exercise the CMYK decode path.
    public static func encodeCMYK(_ pixels: [UInt8], width: Int, height: Int,
                                  quality: Int = 90) throws(ImagingError) -> [UInt8] {
        try encode(pixels: pixels, width: width, height: height, channels: 4,
                   format: Int32(TJPF_CMYK.rawValue), subsamp: Int32(TJSAMP_444.rawValue),
                   quality: quality, progressive: false)
    }

    static func encode(pixels: [UInt8], width: Int, height: Int, channels: Int, format: Int32,
                       subsamp: Int32, quality: Int, progressive: Bool) throws(ImagingError) -> [UInt8] {
        guard width > 0, height > 0, width <= 65_500, height <= 65_500 else {
            throw .invalidArgument(reason: "cannot encode a \(width)x\(height) JPEG (each side must be 1...65500)")
        }
        guard pixels.count == width * height * channels else {
            throw .invalidArgument(reason: "pixel buffer has \(pixels.count) bytes, expected \(width * height * channels)")
        }
        let compressor = try TurboJPEGCompressor()
        let bound = tjBufSize(Int32(width), Int32(height), subsamp)
        guard bound != UInt(bitPattern: -1), bound > 0, bound < UInt(Int.max) else {
            throw .codecFailure(reason: "JPEG buffer size: \(compressor.lastError)")
        }
        // Preallocated worst-case buffer + NOREALLOC: no tjAlloc'd memory to free.
        var out = [UInt8](repeating: 0, count: Int(bound))
        var size = bound
        var flags = Int32(TJFLAG_NOREALLOC)
        if progressive { flags |= Int32(TJFLAG_PROGRESSIVE) }
        let q = Int32(min(max(quality, 1), 100))
        let rc = pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst -> Int32 in
                var p = dst.baseAddress
                return tjCompress2(compressor.handle, src.baseAddress, Int32(width), 0, Int32(height),
                                   format, &p, &size, subsamp, q, flags)
            }
        }
        guard rc == 0 else { throw .codecFailure(reason: "JPEG encoding failed: \(compressor.lastError)") }
        guard size <= bound else { throw .codecFailure(reason: "JPEG encoder overran its buffer") }
        out.removeLast(out.count - Int(size))
        return out
    }
}
