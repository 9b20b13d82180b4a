import CTurboJPEG

/// A decoded image still in stored (sensor) orientation plus the EXIF
/// orientation needed for display. Keeping them apart lets preprocessing read
/// through an oriented view instead of copying the pixels to rotate them.
struct OrientedImage {
    var stored: RGBImage
    var orientation: ExifOrientation

    var displaySize: ImageSize {
        orientation.swapsDimensions
            ? ImageSize(width: stored.height, height: stored.width) : stored.size
    }
}

/// JPEG decoding through the TurboJPEG API, in strict mode.
enum JPEGDecoder {
    /// Strict: any libjpeg warning (premature end, corrupt entropy data,
    /// bad markers) aborts the decode, so truncated uploads never "succeed"
    /// with grey-filled pixels. LIMITSCANS refuses progressive files with
    /// absurd scan counts, a known CPU-exhaustion vector.
    static let flags: Int32 = Int32(TJFLAG_STOPONWARNING) | Int32(TJFLAG_LIMITSCANS)

    /// Decodes `bytes`, choosing the smallest DCT scale that still yields at
    /// least `minimumSize(displaySize)` pixels (display orientation).
    static func decode(_ bytes: UnsafeRawBufferPointer,
                       limits: ImagingLimits,
                       minimumSize: (ImageSize) -> ImageSize?) throws(ImagingError) -> OrientedImage {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { throw .empty }
        let decoder = try TurboJPEGDecompressor()
        var w: Int32 = 0, h: Int32 = 0, subsamp: Int32 = 0, colorspace: Int32 = 0
        guard tjDecompressHeader3(decoder.handle, base, UInt(bytes.count), &w, &h, &subsamp, &colorspace) == 0 else {
            throw .corrupt(reason: "invalid JPEG header: \(decoder.lastError)")
        }
        let width = Int(w), height = Int(h)
        try limits.checkDimensions(width: width, height: height)

        let orientation = ExifReader.orientation(inJPEG: bytes) ?? .up
        let displayFull = orientation.swapsDimensions
            ? ImageSize(width: height, height: width) : ImageSize(width: width, height: height)
        var wanted = minimumSize(displayFull)
        if let m = wanted, orientation.swapsDimensions {
            wanted = ImageSize(width: m.height, height: m.width)
        }
        let scale = JPEGScale.best(width: width, height: height, minimum: wanted)
        let outW = scale.scaled(width), outH = scale.scaled(height)

        let isCMYK = colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue)
        // TurboJPEG cannot convert CMYK to RGB itself; decode 4 channels and
        // convert in place (the RGB result is a prefix of the same buffer).
        let channels = isCMYK ? 4 : 3
        let format = isCMYK ? Int32(TJPF_CMYK.rawValue) : Int32(TJPF_RGB.rawValue)
        let (pixelCount, o1) = outW.multipliedReportingOverflow(by: outH)
        let (byteCount, o2) = pixelCount.multipliedReportingOverflow(by: channels)
        guard !o1, !o2 else { throw .tooLarge(width: width, height: height) }

        var failure: String?
        var pixels = [UInt8](unsafeUninitializedCapacity: byteCount) { buffer, initialized in
            guard let dst = buffer.baseAddress else {
                failure = "no output buffer"
                initialized = 0
                return
            }
            let rc = tjDecompress2(decoder.handle, base, UInt(bytes.count), dst,
                                   Int32(outW), 0, Int32(outH), format, flags)
            if rc != 0 {
                failure = decoder.lastErrorWasWarning
                    ? decoder.lastError + " (a libjpeg warning, rejected in strict mode)" : decoder.lastError
                initialized = 0
                return
            }
            if isCMYK { convertCMYKToRGBInPlace(dst, pixelCount: pixelCount) }
            initialized = pixelCount * 3
        }
        if let failure { throw .corrupt(reason: failure) }
        if isCMYK { pixels.removeLast(pixels.count - pixelCount * 3) }
        return OrientedImage(stored: RGBImage(uncheckedWidth: outW, height: outH, pixels: pixels),
                             orientation: orientation)
    }

    /// CMYK as stored by Adobe/Photoshop (and by libjpeg-turbo's own tools)
    /// is inverted, i.e. 255 means "no ink", so R = C*K/255 etc.
    static func convertCMYKToRGBInPlace(_ p: UnsafeMutablePointer<UInt8>, pixelCount: Int) {
        for i in 0..<pixelCount {
            let c = UInt32(p[i * 4]), m = UInt32(p[i * 4 + 1]), y = UInt32(p[i * 4 + 2]), k = UInt32(p[i * 4 + 3])
            p[i * 3] = UInt8((c * k + 127) / 255)
            p[i * 3 + 1] = UInt8((m * k + 127) / 255)
            p[i * 3 + 2] = UInt8((y * k + 127) / 255)
        }
    }
}
