@testable import Imaging
import Testing
import Tensor

@Suite("EXIF orientation")
struct ExifOrientationTests {
    /// Independent statement of what each orientation means, written as
    /// explicit loops rather than via `ExifOrientation.storedCoordinate`.
    static func expected(_ img: RGBImage, orientation: Int) -> RGBImage {
        let w = img.width, h = img.height
        let swap = orientation >= 5
        let ow = swap ? h : w, oh = swap ? w : h
        var out = [UInt8](repeating: 0, count: ow * oh * 3)
        for y in 0..<h {
            for x in 0..<w {
                // Where stored (x, y) lands on screen.
                let (dx, dy): (Int, Int)
                switch orientation {
                case 2: (dx, dy) = (w - 1 - x, y)                 // mirror
                case 3: (dx, dy) = (w - 1 - x, h - 1 - y)         // 180
                case 4: (dx, dy) = (x, h - 1 - y)                 // flip vertical
                case 5: (dx, dy) = (y, x)                         // transpose
                case 6: (dx, dy) = (h - 1 - y, x)                 // 90 clockwise
                case 7: (dx, dy) = (h - 1 - y, w - 1 - x)         // transverse
                case 8: (dx, dy) = (y, w - 1 - x)                 // 90 counter-clockwise
                default: (dx, dy) = (x, y)
                }
                for c in 0..<3 { out[(dy * ow + dx) * 3 + c] = img.pixels[(y * w + x) * 3 + c] }
            }
        }
        return RGBImage(width: ow, height: oh, pixels: out)!
    }

    @Test("orientations 1-8 transform the decoded pixels", arguments: 1...8, [false, true])
    func orientation(value: Int, bigEndian: Bool) throws {
        // Asymmetric 12x7 image: distinct left/right and top/bottom content.
        let base = SyntheticImage.photoLike(width: 12, height: 7, seed: 5, noise: 0)
        let jpeg = try JPEGEncoder.encode(base, quality: 100, subsampling: .s444)
        let plain = try ImageDecoder.decode(jpeg)
        let tagged = JPEGBytes.splice(JPEGBytes.exifSegment(orientation: value, bigEndian: bigEndian), into: jpeg)
        let decoded = try ImageDecoder.decode(tagged)
        #expect(decoded == Self.expected(plain, orientation: value))
    }

    @Test func preprocessHonoursOrientation() throws {
        let base = SyntheticImage.photoLike(width: 24, height: 16, seed: 6, noise: 0)
        let jpeg = try JPEGEncoder.encode(base, quality: 100, subsampling: .s444)
        let tagged = JPEGBytes.splice(JPEGBytes.exifSegment(orientation: 6, bigEndian: false), into: jpeg)
        let upright = try ImageDecoder.decode(tagged)
        #expect(upright.size == ImageSize(width: 16, height: 24))
        let spec = PreprocessSpec(width: 8, height: 12, resizeMode: .squash)
        // Same DCT scale as preprocessing picks, so the pixels are comparable exactly.
        let scaledUpright = try ImageDecoder.decode(tagged, minimumSize: spec.minimumDecodeSize(for: upright.size))
        #expect(scaledUpright.size == ImageSize(width: 8, height: 12))
        var a = [Float](repeating: 0, count: spec.floatsPerImage), b = a
        try a.withUnsafeMutableBufferPointer { try Preprocessor.preprocess(tagged, spec: spec, into: $0.baseAddress!) }
        try b.withUnsafeMutableBufferPointer { try Preprocessor.preprocess(scaledUpright, spec: spec, into: $0.baseAddress!) }
        #expect(meanAbsError(a, b) < 1e-4)
    }

    @Test func invalidOrImplausibleExifIsIgnored() throws {
        let jpeg = try JPEGEncoder.encode(SyntheticImage.smooth(width: 8, height: 4), quality: 90)
        let plain = try ImageDecoder.decode(jpeg)
        var segments: [[UInt8]] = [
            JPEGBytes.exifSegment(orientation: 0, bigEndian: false),
            JPEGBytes.exifSegment(orientation: 9, bigEndian: true),
            JPEGBytes.exifSegment(orientation: 65535, bigEndian: false),
        ]
        // Truncated IFD, bogus IFD offset, bad byte order.
        var seg = JPEGBytes.exifSegment(orientation: 6, bigEndian: false)
        seg[14] = 0xFF; seg[15] = 0xFF  // IFD0 offset low bytes -> far out of range
        segments.append(seg)
        seg = JPEGBytes.exifSegment(orientation: 6, bigEndian: false)
        seg[10] = 0x41  // "AI" byte order
        segments.append(seg)
        seg = JPEGBytes.exifSegment(orientation: 6, bigEndian: false)
        seg[18] = 0xFF; seg[19] = 0xFF  // 65535 IFD entries: runs off the segment...
        seg[32] = 0x13                  // ...and the orientation tag is renamed, so nothing is found
        segments.append(seg)
        for s in segments {
            let d = try ImageDecoder.decode(JPEGBytes.splice(s, into: jpeg))
            #expect(d == plain)
        }
    }

    @Test func parserSurvivesRandomGarbage() {
        var rng = SeededGenerator(seed: 42)
        for _ in 0..<2000 {
            let n = Int(rng.next() % 80)
            var bytes: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE1, 0, UInt8(n + 2)] + Array("Exif".utf8) + [0, 0]
            for _ in 0..<n { bytes.append(UInt8(truncatingIfNeeded: rng.next())) }
            if n >= 2, rng.next() % 2 == 0 { bytes[12] = 0x49; bytes[13] = 0x49 }
            _ = bytes.withUnsafeBytes { ExifReader.orientation(inJPEG: $0) }
        }
    }
}
