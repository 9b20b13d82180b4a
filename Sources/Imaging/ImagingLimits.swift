/// Resource limits enforced *before* any pixel memory is allocated.
///
/// A 200-byte JPEG can declare 65000x65000 pixels (a "decompression bomb");
/// checking the header against these limits keeps one request from taking
/// the whole server's memory.
public struct ImagingLimits: Sendable, Equatable {
    /// Largest accepted encoded payload, in bytes.
    public var maxEncodedBytes: Int
    /// Largest accepted width x height of the full-resolution image, as
    /// declared by its header (DCT scaling does not raise this: progressive
    /// JPEGs need full-size coefficient buffers regardless of output scale).
    public var maxPixelCount: Int

    public init(maxEncodedBytes: Int = 32 * 1024 * 1024, maxPixelCount: Int = 40_000_000) {
        self.maxEncodedBytes = max(0, maxEncodedBytes)
        self.maxPixelCount = max(0, maxPixelCount)
    }

    /// 32 MiB encoded, 40 megapixels decoded.
    public static let `default` = ImagingLimits()

    /// Throws `.empty` / `.tooManyBytes` for the encoded payload size.
    func checkEncoded(count: Int) throws(ImagingError) {
        if count == 0 { throw .empty }
        if count > maxEncodedBytes { throw .tooManyBytes(count: count, limit: maxEncodedBytes) }
    }

    /// Validates header dimensions with overflow-safe arithmetic.
    /// Zero dimensions are corrupt; anything over `maxPixelCount` is `.tooLarge`.
    func checkDimensions(width: Int, height: Int) throws(ImagingError) {
        guard width > 0, height > 0 else {
            throw .corrupt(reason: "header declares \(width)x\(height) pixels")
        }
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        if overflow || pixels > maxPixelCount {
            throw .tooLarge(width: width, height: height)
        }
    }
}
