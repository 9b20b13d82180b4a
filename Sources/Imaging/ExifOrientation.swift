/// EXIF orientation (tag 0x0112), i.e. how the stored pixels must be
/// transformed for display. Phone cameras store sensor-order pixels and set
/// this tag instead of rotating, so ignoring it feeds the model sideways photos.
public enum ExifOrientation: Int, Sendable, CaseIterable {
    case up = 1                 // identity
    case upMirrored = 2         // mirror horizontally
    case down = 3               // rotate 180
    case downMirrored = 4       // mirror vertically
    case leftMirrored = 5       // transpose (swap x and y)
    case right = 6              // rotate 90 clockwise
    case rightMirrored = 7      // transverse
    case left = 8               // rotate 90 counter-clockwise

    /// True when display width/height are stored height/width.
    public var swapsDimensions: Bool { rawValue >= 5 }

    /// Maps a display coordinate to the stored coordinate, for a stored image
    /// of `storedWidth` x `storedHeight`. This is the definition the pixel
    /// views and the tests share.
    public func storedCoordinate(displayX x: Int, displayY y: Int,
                                 storedWidth w: Int, storedHeight h: Int) -> (x: Int, y: Int) {
        switch self {
        case .up: return (x, y)
        case .upMirrored: return (w - 1 - x, y)
        case .down: return (w - 1 - x, h - 1 - y)
        case .downMirrored: return (x, h - 1 - y)
        case .leftMirrored: return (y, x)
        case .right: return (y, h - 1 - x)
        case .rightMirrored: return (w - 1 - y, h - 1 - x)
        case .left: return (w - 1 - y, x)
        }
    }
}

/// Minimal, bounds-checked reader for the orientation tag in a JPEG's
/// APP1 "Exif" segment. Written by hand (no libexif) because we need one
/// tag and must survive arbitrary garbage: every read is range-checked and
/// any inconsistency yields `nil` (treated as "up").
enum ExifReader {
    /// Scans JPEG marker segments up to the first SOS and returns the IFD0
    /// orientation, or nil if absent/invalid.
    static func orientation(inJPEG bytes: UnsafeRawBufferPointer) -> ExifOrientation? {
        let n = bytes.count
        guard n >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { return nil }
        var pos = 2
        while pos + 4 <= n {
            guard bytes[pos] == 0xFF else { return nil }
            let marker = bytes[pos + 1]
            if marker == 0xFF { pos += 1; continue }  // fill byte
            if marker == 0xD8 || marker == 0x01 || (0xD0...0xD7).contains(marker) { pos += 2; continue }
            if marker == 0xDA || marker == 0xD9 { return nil }  // scan data / end: no more metadata
            let length = Int(bytes[pos + 2]) << 8 | Int(bytes[pos + 3])
            guard length >= 2, pos + 2 + length <= n else { return nil }
            let start = pos + 4
            let end = pos + 2 + length
            if marker == 0xE1, let o = orientation(inAPP1: bytes, start: start, end: end) {
                return o
            }
            pos = end
        }
        return nil
    }

    /// Parses one APP1 payload `bytes[start..<end]`.
    static func orientation(inAPP1 bytes: UnsafeRawBufferPointer, start: Int, end: Int) -> ExifOrientation? {
        let header: [UInt8] = [0x45, 0x78, 0x69, 0x66, 0, 0]  // "Exif\0\0"
        guard end - start >= header.count + 8 else { return nil }
        for i in 0..<header.count where bytes[start + i] != header[i] { return nil }
        let tiff = start + header.count
        let tiffLength = end - tiff
        let littleEndian: Bool
        switch (bytes[tiff], bytes[tiff + 1]) {
        case (0x49, 0x49): littleEndian = true   // "II"
        case (0x4D, 0x4D): littleEndian = false  // "MM"
        default: return nil
        }
        func u16(_ off: Int) -> Int? {
            guard off >= 0, off + 2 <= tiffLength else { return nil }
            let a = Int(bytes[tiff + off]), b = Int(bytes[tiff + off + 1])
            return littleEndian ? (b << 8 | a) : (a << 8 | b)
        }
        func u32(_ off: Int) -> Int? {
            guard let lo = u16(littleEndian ? off : off + 2),
                  let hi = u16(littleEndian ? off + 2 : off) else { return nil }
            return hi << 16 | lo
        }
        guard u16(2) == 42, let ifd0 = u32(4), let count = u16(ifd0) else { return nil }
        for entry in 0..<count {
            let e = ifd0 + 2 + entry * 12
            guard let tag = u16(e) else { return nil }
            guard tag == 0x0112 else { continue }
            // Type SHORT (3), count 1: value sits in the first 2 bytes of the value field.
            guard u16(e + 2) == 3, u32(e + 4) == 1, let v = u16(e + 8) else { return nil }
            return ExifOrientation(rawValue: v)
        }
        return nil
    }
}
