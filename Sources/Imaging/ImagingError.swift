/// The one error type every public entry point of `Imaging` throws.
///
/// Callers (the gRPC layer) map these cases to status codes, so each case is
/// a distinct, actionable condition and `description` says what was wrong and
/// which limit applied, in words a client developer can act on.
public enum ImagingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The bytes are neither JPEG nor PNG (judged by magic bytes, never by name).
    case unsupportedFormat
    /// The data claims to be JPEG/PNG but cannot be decoded; `reason` is the
    /// decoder's diagnostic (e.g. "Premature end of JPEG file").
    case corrupt(reason: String)
    /// The header declares more pixels than `ImagingLimits.maxPixelCount`.
    /// Raised from the header alone, before any pixel buffer is allocated.
    case tooLarge(width: Int, height: Int)
    /// The encoded payload is larger than `ImagingLimits.maxEncodedBytes`.
    case tooManyBytes(count: Int, limit: Int)
    /// Zero bytes were supplied.
    case empty
    /// The caller passed an unusable argument (e.g. a 0x0 preprocessing target,
    /// a pixel buffer whose size does not match its dimensions). A caller bug,
    /// not a property of the image: maps to INVALID_ARGUMENT / INTERNAL.
    case invalidArgument(reason: String)
    /// The codec library failed for a reason unrelated to the input bytes
    /// (handle allocation, encoder failure; in practice out of memory).
    case codecFailure(reason: String)

    public var description: String {
        switch self {
        case .unsupportedFormat:
            return "unsupported image format: expected JPEG (starts with FF D8 FF) or PNG "
                + "(starts with 89 50 4E 47 0D 0A 1A 0A); send the raw file bytes"
        case .corrupt(let reason):
            return "corrupt image data: \(reason); re-encode or re-upload the file"
        case .tooLarge(let width, let height):
            let (total, overflow) = width.multipliedReportingOverflow(by: height)
            return "image too large: \(width)x\(height) pixels (\(overflow ? "overflowing" : String(total)) total) "
                + "exceeds the server's pixel limit (default \(ImagingLimits.default.maxPixelCount) pixels); "
                + "downscale the image before sending"
        case .tooManyBytes(let count, let limit):
            return "image payload too large: \(count) bytes exceeds the limit of \(limit) bytes"
        case .empty:
            return "empty image: zero bytes were received"
        case .invalidArgument(let reason):
            return "invalid argument: \(reason)"
        case .codecFailure(let reason):
            return "image codec failure (not caused by the input): \(reason)"
        }
    }
}
