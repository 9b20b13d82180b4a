@testable import Imaging
import Testing
import Tensor

/// Fuzz-style robustness: every mutated input must yield either an image or a
/// typed ImagingError — never a crash, hang or untyped error.
@Suite("mutation robustness")
struct MutationTests {
    enum Source: String, CaseIterable { case jpegBaseline, jpegProgressive, png, pngAlpha }

    static func seedFile(_ s: Source) throws -> [UInt8] {
        let img = SyntheticImage.photoLike(width: 24, height: 16, seed: 31)
        switch s {
        case .jpegBaseline: return try JPEGEncoder.encode(img, quality: 80, subsampling: .s420)
        case .jpegProgressive: return try JPEGEncoder.encode(img, quality: 80, subsampling: .s444, progressive: true)
        case .png: return try PNGEncoder.encode(img)
        case .pngAlpha:
            var rgba: [UInt8] = []
            for i in 0..<(24 * 16) { rgba += img.pixels[(i * 3)..<(i * 3 + 3)]; rgba.append(UInt8(i % 256)) }
            return try PNGEncoder.encode(pixels: rgba, width: 24, height: 16, channels: .rgba)
        }
    }

    static func mutate(_ bytes: [UInt8], rng: inout SeededGenerator) -> [UInt8] {
        var b = bytes
        let edits = 1 + Int(rng.next() % 4)
        for _ in 0..<edits {
            guard !b.isEmpty else { break }
            let at = Int(rng.next() % UInt64(b.count))
            switch rng.next() % 6 {
            case 0, 1: b[at] ^= UInt8(1 << (rng.next() % 8))                    // bit flip
            case 2: b[at] = UInt8(truncatingIfNeeded: rng.next())              // byte replace
            case 3: b.insert(UInt8(truncatingIfNeeded: rng.next()), at: at)    // insert
            case 4: b.removeSubrange(at..<min(b.count, at + 1 + Int(rng.next() % 8)))  // delete run
            default: b.removeSubrange(at..<b.count)                            // truncate
            }
        }
        return b
    }

    @Test("mutated files give an image or a typed error", arguments: Source.allCases)
    func mutations(source: Source) throws {
        let original = try Self.seedFile(source)
        // Tight pixel limit: a mutated header cannot make a test iteration slow.
        let limits = ImagingLimits(maxEncodedBytes: 1 << 20, maxPixelCount: 1 << 20)
        let spec = PreprocessSpec(width: 8, height: 8)
        var rng = SeededGenerator(seed: 0xB0_0D + UInt64(source.rawValue.count))
        var out = [Float](repeating: 0, count: spec.floatsPerImage)
        var decoded = 0, failed = 0
        for i in 0..<2500 {
            let bytes = Self.mutate(original, rng: &rng)
            do {
                if i % 2 == 0 {
                    let img = try ImageDecoder.decode(bytes, limits: limits)
                    #expect(img.pixels.count == img.width * img.height * 3)
                } else {
                    try out.withUnsafeMutableBufferPointer {
                        try Preprocessor.preprocess(bytes, spec: spec, limits: limits, into: $0.baseAddress!)
                    }
                    #expect(out.allSatisfy { $0.isFinite })
                }
                decoded += 1
            } catch {
                failed += 1   // typed by construction: the API is `throws(ImagingError)`
            }
        }
        #expect(decoded + failed == 2500)
        #expect(failed > 0, "mutations should break some files")
    }
}
