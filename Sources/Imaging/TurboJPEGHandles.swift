import CTurboJPEG

/// Owns one TurboJPEG decompression handle.
///
/// A fresh instance is created per decode: after an error a reused handle can
/// report stale diagnostics, and the cost (one small malloc) is negligible
/// next to decoding. `deinit` frees the handle on every path, including throws.
final class TurboJPEGDecompressor {
    let handle: tjhandle

    init() throws(ImagingError) {
        guard let h = tjInitDecompress() else {
            throw .codecFailure(reason: "could not initialise the JPEG decoder: "
                + TurboJPEGDecompressor.message(nil))
        }
        handle = h
    }

    deinit { _ = tjDestroy(handle) }

    /// The handle's last error text, or a generic fallback.
    var lastError: String { TurboJPEGDecompressor.message(handle) }

    /// True when the last failure was only a warning (e.g. premature end of
    /// data) that strict mode escalated into an error.
    var lastErrorWasWarning: Bool { tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue) }

    static func message(_ handle: tjhandle?) -> String {
        guard let c = tjGetErrorStr2(handle) else { return "unknown TurboJPEG error" }
        let s = String(cString: c)
        return s.isEmpty ? "unknown TurboJPEG error" : s
    }
}

/// Owns one TurboJPEG compression handle (see `TurboJPEGDecompressor`).
final class TurboJPEGCompressor {
    let handle: tjhandle

    init() throws(ImagingError) {
        guard let h = tjInitCompress() else {
            throw .codecFailure(reason: "could not initialise the JPEG encoder: "
                + TurboJPEGDecompressor.message(nil))
        }
        handle = h
    }

    deinit { _ = tjDestroy(handle) }

    var lastError: String { TurboJPEGDecompressor.message(handle) }
}
