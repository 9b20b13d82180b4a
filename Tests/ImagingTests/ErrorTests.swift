@testable import Imaging
import Testing

@Suite("typed errors")
struct ErrorTests {
    static let jpeg: [UInt8] = try! JPEGEncoder.encode(
        SyntheticImage.photoLike(width: 64, height: 48, seed: 2), quality: 85, subsampling: .s420)
    static let png: [UInt8] = try! PNGEncoder.encode(SyntheticImage.photoLike(width: 32, height: 24, seed: 2))

    @Test func emptyInput() {
        #expect(imagingError { try ImageDecoder.decode([]) } == .empty)
    }

    @Test("garbage is unsupported", arguments: [[0x00], [0x47, 0x49, 0x46, 0x38, 0x39, 0x61], [0xFF, 0xD8],
                                                 [0x89, 0x50, 0x4E, 0x47], Array("hello world".utf8)])
    func garbage(bytes: [UInt8]) {
        #expect(imagingError { try ImageDecoder.decode(bytes) } == .unsupportedFormat)
    }

    @Test("truncated files fail, never decode to grey", arguments: [0.95, 0.7, 0.5, 0.2])
    func truncatedJPEG(fraction: Double) {
        let cut = Array(Self.jpeg.prefix(Int(Double(Self.jpeg.count) * fraction)))
        #expect(isCorrupt(imagingError { try ImageDecoder.decode(cut) }))
    }

    @Test("truncated PNG", arguments: [0.95, 0.6, 0.3, 0.05])
    func truncatedPNG(fraction: Double) {
        let cut = Array(Self.png.prefix(max(9, Int(Double(Self.png.count) * fraction))))
        #expect(isCorrupt(imagingError { try ImageDecoder.decode(cut) }))
    }

    @Test func headerCorruptJPEG() throws {
        var b = Self.jpeg
        let sof = try #require(JPEGBytes.sof(in: b))
        b[sof + 9] = 0  // component count 0
        #expect(isCorrupt(imagingError { try ImageDecoder.decode(b) }))
        var c = Self.jpeg
        let dqt = try #require(JPEGBytes.find(0xDB, in: c))
        c[dqt + 2] = 0xFF; c[dqt + 3] = 0xFF  // segment length runs past the end
        #expect(isCorrupt(imagingError { try ImageDecoder.decode(c) }))
    }

    @Test func headerCorruptPNG() {
        var b = Self.png
        b[17] ^= 0x01  // IHDR width changed, CRC now wrong
        #expect(isCorrupt(imagingError { try ImageDecoder.decode(b) }))
    }

    @Test func scanCorruptJPEG() throws {
        var b = Self.jpeg
        let sos = try #require(JPEGBytes.find(0xDA, in: b))
        let dataStart = sos + 2 + (Int(b[sos + 2]) << 8 | Int(b[sos + 3]))
        let mid = dataStart + (b.count - dataStart) / 3
        // A premature EOI marker in the middle of entropy-coded data.
        b[mid] = 0xFF; b[mid + 1] = 0xD9
        #expect(isCorrupt(imagingError { try ImageDecoder.decode(b) }))
    }

    @Test func scanCorruptPNG() {
        var b = Self.png
        // Flip a byte inside IDAT payload (CRC mismatch / zlib error).
        b[b.count - 30] ^= 0x5A
        #expect(isCorrupt(imagingError { try ImageDecoder.decode(b) }))
    }

    @Test func zeroDimensions() {
        let j = JPEGBytes.patchDimensions(Self.jpeg, width: 0, height: 0)
        #expect(isCorrupt(imagingError { try ImageDecoder.decode(j) }))
        let p = RawPNG.patchDimensions(Self.png, width: 0, height: 0)
        #expect(isCorrupt(imagingError { try ImageDecoder.decode(p) }))
    }

    @Test func jpegBombRefusedFromHeader() {
        let bomb = JPEGBytes.patchDimensions(Self.jpeg, width: 65000, height: 65000)
        #expect(imagingError { try ImageDecoder.decode(bomb) } == .tooLarge(width: 65000, height: 65000))
        var out = [Float](repeating: 0, count: 3 * 8 * 8)
        let e = out.withUnsafeMutableBufferPointer { buf in
            imagingError { try Preprocessor.preprocess(bomb, spec: PreprocessSpec(width: 8, height: 8), into: buf.baseAddress!) }
        }
        #expect(e == .tooLarge(width: 65000, height: 65000))
    }

    @Test func pngBombRefusedFromHeader() {
        let bomb = RawPNG.patchDimensions(Self.png, width: 65000, height: 65000)
        #expect(imagingError { try ImageDecoder.decode(bomb) } == .tooLarge(width: 65000, height: 65000))
    }

    @Test func configurableLimits() {
        let small = ImagingLimits(maxEncodedBytes: 100, maxPixelCount: 40_000_000)
        #expect(imagingError { try ImageDecoder.decode(Self.jpeg, limits: small) }
                == .tooManyBytes(count: Self.jpeg.count, limit: 100))
        let fewPixels = ImagingLimits(maxPixelCount: 64 * 48 - 1)
        #expect(imagingError { try ImageDecoder.decode(Self.jpeg, limits: fewPixels) } == .tooLarge(width: 64, height: 48))
        #expect(imagingError { try ImageDecoder.decode(Self.png, limits: ImagingLimits(maxPixelCount: 100)) }
                == .tooLarge(width: 32, height: 24))
    }

    @Test func descriptionsAreActionable() {
        #expect(ImagingError.tooLarge(width: 65000, height: 65000).description.contains("40000000"))
        #expect(ImagingError.tooLarge(width: 65000, height: 65000).description.contains("65000x65000"))
        #expect(ImagingError.tooManyBytes(count: 10, limit: 5).description.contains("limit of 5 bytes"))
        #expect(ImagingError.corrupt(reason: "Premature end of JPEG file").description.contains("Premature end"))
        #expect(ImagingError.unsupportedFormat.description.contains("JPEG"))
        #expect(ImagingError.empty.description.contains("zero bytes"))
    }

    @Test func invalidSpecIsRefused() {
        var out = [Float](repeating: 0, count: 4)
        let e = out.withUnsafeMutableBufferPointer { buf in
            imagingError { try Preprocessor.preprocess(Self.jpeg, spec: PreprocessSpec(width: 0, height: 4), into: buf.baseAddress!) }
        }
        guard case .invalidArgument? = e else { Issue.record("expected invalidArgument, got \(String(describing: e))"); return }
        let enc = imagingError { try JPEGEncoder.encodeGray([1, 2, 3], width: 2, height: 2) }
        guard case .invalidArgument? = enc else { Issue.record("expected invalidArgument, got \(String(describing: enc))"); return }
        let png = imagingError { try PNGEncoder.encode(pixels: [1], width: 0, height: 1, channels: .gray) }
        guard case .invalidArgument? = png else { Issue.record("expected invalidArgument, got \(String(describing: png))"); return }
    }
}
