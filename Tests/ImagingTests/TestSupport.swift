@testable import Imaging
import Testing

/// Mean absolute per-sample difference of two equally sized byte arrays.
func meanAbsError(_ a: [UInt8], _ b: [UInt8]) -> Double {
    precondition(a.count == b.count && !a.isEmpty)
    var s = 0
    for i in 0..<a.count { s += abs(Int(a[i]) - Int(b[i])) }
    return Double(s) / Double(a.count)
}

func meanAbsError(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count && !a.isEmpty)
    var s = 0.0
    for i in 0..<a.count { s += Double(abs(a[i] - b[i])) }
    return s / Double(a.count)
}

/// Runs `body` and returns the ImagingError it threw (nil if it succeeded).
func imagingError<T>(_ body: () throws -> T) -> ImagingError? {
    do {
        _ = try body()
        return nil
    } catch let error as ImagingError {
        return error
    } catch {
        Issue.record("untyped error: \(error)")
        return nil
    }
}

func isCorrupt(_ e: ImagingError?) -> Bool {
    if case .corrupt? = e { return true }
    return false
}

/// Test-only JPEG marker surgery.
enum JPEGBytes {
    /// Offset of the first marker `marker` (e.g. 0xC0 SOF0, 0xC2 SOF2, 0xDA SOS),
    /// walking segments from SOI.
    static func find(_ marker: UInt8, in b: [UInt8]) -> Int? {
        var pos = 2
        while pos + 4 <= b.count {
            guard b[pos] == 0xFF else { return nil }
            if b[pos + 1] == marker { return pos }
            if b[pos + 1] == 0xDA { return nil }
            pos += 2 + (Int(b[pos + 2]) << 8 | Int(b[pos + 3]))
        }
        return nil
    }

    /// Offset of the first SOFn (baseline or progressive).
    static func sof(in b: [UInt8]) -> Int? { find(0xC0, in: b) ?? find(0xC2, in: b) ?? find(0xC1, in: b) }

    /// Rewrites the SOF's declared height and width.
    static func patchDimensions(_ b: [UInt8], width: Int, height: Int) -> [UInt8] {
        guard let s = sof(in: b) else { Issue.record("no SOF"); return b }
        var out = b
        out[s + 5] = UInt8(height >> 8); out[s + 6] = UInt8(height & 0xFF)
        out[s + 7] = UInt8(width >> 8); out[s + 8] = UInt8(width & 0xFF)
        return out
    }

    /// Builds an APP1 Exif segment with IFD0 holding only Orientation.
    static func exifSegment(orientation: Int, bigEndian: Bool) -> [UInt8] {
        func u16(_ v: Int) -> [UInt8] { bigEndian ? [UInt8(v >> 8), UInt8(v & 0xFF)] : [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func u32(_ v: Int) -> [UInt8] { bigEndian ? u16(v >> 16) + u16(v & 0xFFFF) : u16(v & 0xFFFF) + u16(v >> 16) }
        var tiff: [UInt8] = bigEndian ? [0x4D, 0x4D] : [0x49, 0x49]
        tiff += u16(42) + u32(8)
        // An unrelated tag first (ImageWidth, LONG) so the parser must iterate.
        tiff += u16(2) + u16(0x0100) + u16(4) + u32(1) + u32(123)
        tiff += u16(0x0112) + u16(3) + u32(1) + u16(orientation) + u16(0)
        tiff += u32(0)
        let payload: [UInt8] = Array("Exif".utf8) + [0, 0] + tiff
        let len = payload.count + 2
        return [0xFF, 0xE1, UInt8(len >> 8), UInt8(len & 0xFF)] + payload
    }

    /// Inserts `segment` right after SOI.
    static func splice(_ segment: [UInt8], into jpeg: [UInt8]) -> [UInt8] {
        Array(jpeg[0..<2]) + segment + Array(jpeg[2...])
    }
}

/// A tiny PNG writer (stored/uncompressed deflate blocks) so tests can
/// produce bit depths, palettes and chunk layouts libpng's simplified
/// writer cannot (1-bit, palette+tRNS, 16-bit without gAMA).
enum RawPNG {
    static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let t = Array(type.utf8)
        return be32(UInt32(data.count)) + t + data + be32(crc32(t + data))
    }

    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var i = 0
        repeat {
            let n = min(65535, data.count - i)
            let final: UInt8 = i + n >= data.count ? 1 : 0
            out += [final, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            out += data[i..<(i + n)]
            i += n
        } while i < data.count
        var a: UInt32 = 1, b: UInt32 = 0
        for x in data { a = (a + UInt32(x)) % 65521; b = (b + a) % 65521 }
        return out + be32(b << 16 | a)
    }

    /// `rows` are already-packed scanlines (without filter bytes).
    static func make(width: Int, height: Int, bitDepth: UInt8, colorType: UInt8, rows: [[UInt8]],
                     extraChunks: [[UInt8]] = []) -> [UInt8] {
        var raw: [UInt8] = []
        for r in rows { raw.append(0); raw += r }
        let ihdr = be32(UInt32(width)) + be32(UInt32(height)) + [bitDepth, colorType, 0, 0, 0]
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        png += chunk("IHDR", ihdr)
        for c in extraChunks { png += c }
        png += chunk("IDAT", zlibStored(raw))
        png += chunk("IEND", [])
        return png
    }

    /// Rewrites IHDR width/height and fixes its CRC (so only the limit check can refuse it).
    static func patchDimensions(_ png: [UInt8], width: UInt32, height: UInt32) -> [UInt8] {
        var out = png
        let w = be32(width), h = be32(height)
        for i in 0..<4 { out[16 + i] = w[i]; out[20 + i] = h[i] }
        let crc = be32(crc32(Array(out[12..<29])))
        for i in 0..<4 { out[29 + i] = crc[i] }
        return out
    }
}
