@testable import Imaging
import Testing

@Suite("JPEG codec")
struct JPEGCodecTests {
    @Test("round-trip of smooth images stays close", arguments: [
        (ImageSize(width: 16, height: 16), JPEGEncoder.Subsampling.s444),
        (ImageSize(width: 33, height: 17), .s444),
        (ImageSize(width: 64, height: 48), .s422),
        (ImageSize(width: 97, height: 61), .s420),
        (ImageSize(width: 128, height: 96), .s420),
    ])
    func roundTrip(size: ImageSize, subsampling: JPEGEncoder.Subsampling) throws {
        let image = SyntheticImage.smooth(width: size.width, height: size.height)
        let jpeg = try JPEGEncoder.encode(image, quality: 95, subsampling: subsampling)
        #expect(ImageFormat.sniff(jpeg) == .jpeg)
        let decoded = try ImageDecoder.decode(jpeg)
        #expect(decoded.size == size)
        #expect(meanAbsError(decoded.pixels, image.pixels) < 3)
    }

    @Test func progressiveDecodes() throws {
        let image = SyntheticImage.smooth(width: 80, height: 60)
        let jpeg = try JPEGEncoder.encode(image, quality: 95, subsampling: .s444, progressive: true)
        #expect(JPEGBytes.find(0xC2, in: jpeg) != nil, "expected a progressive SOF2 marker")
        let decoded = try ImageDecoder.decode(jpeg)
        #expect(meanAbsError(decoded.pixels, image.pixels) < 3)
    }

    @Test func grayscaleDecodesToEqualRGB() throws {
        let w = 40, h = 30
        let gray = (0..<(w * h)).map { UInt8(($0 % w) * 6) }
        let jpeg = try JPEGEncoder.encodeGray(gray, width: w, height: h, quality: 95)
        let decoded = try ImageDecoder.decode(jpeg)
        #expect(decoded.size == ImageSize(width: w, height: h))
        var err = 0.0
        for i in 0..<(w * h) {
            let p = (decoded.pixels[i * 3], decoded.pixels[i * 3 + 1], decoded.pixels[i * 3 + 2])
            #expect(p.0 == p.1 && p.1 == p.2)
            err += Double(abs(Int(p.0) - Int(gray[i])))
        }
        #expect(err / Double(w * h) < 3)
    }

    @Test func cmykConvertsToRGB() throws {
        let image = SyntheticImage.smooth(width: 32, height: 24)
        // RGB -> inverted CMYK with K = max channel (simple, exact inverse of C*K/255).
        var cmyk: [UInt8] = []
        for i in 0..<(32 * 24) {
            let r = Int(image.pixels[i * 3]), g = Int(image.pixels[i * 3 + 1]), b = Int(image.pixels[i * 3 + 2])
            let k = max(r, g, b, 1)
            cmyk += [UInt8(r * 255 / k), UInt8(g * 255 / k), UInt8(b * 255 / k), UInt8(k)]
        }
        let jpeg = try JPEGEncoder.encodeCMYK(cmyk, width: 32, height: 24, quality: 98)
        let decoded = try ImageDecoder.decode(jpeg)
        #expect(meanAbsError(decoded.pixels, image.pixels) < 4)
    }

    @Test("DCT-scaled decode is close to full decode + area resize", arguments: [
        ImageSize(width: 200, height: 150), ImageSize(width: 100, height: 75), ImageSize(width: 50, height: 38),
    ])
    func dctScaling(minimum: ImageSize) throws {
        let image = SyntheticImage.photoLike(width: 400, height: 300, seed: 3, noise: 4)
        let jpeg = try JPEGEncoder.encode(image, quality: 92, subsampling: .s420)
        let scaled = try ImageDecoder.decode(jpeg, minimumSize: minimum)
        #expect(scaled.width >= minimum.width && scaled.height >= minimum.height)
        #expect(scaled.width < 400, "expected a reduced DCT scale")
        let full = try ImageDecoder.decode(jpeg)
        let reference = try #require(ImageResizer.resize(full, to: scaled.size))
        #expect(meanAbsError(scaled.pixels, reference.pixels) < 4)
    }

    @Test func scaleChoiceIsSmallestSufficient() {
        // 640x480 needs >= 86x64 for a 64x64 centre crop: 1/8 gives 80x60 (too small), 1/4 gives 160x120.
        let spec = PreprocessSpec(width: 64, height: 64)
        let need = spec.minimumDecodeSize(for: ImageSize(width: 640, height: 480))
        #expect(need == ImageSize(width: 86, height: 64))
        let s = JPEGScale.best(width: 640, height: 480, minimum: need)
        #expect(s.scaled(640) == 160 && s.scaled(480) == 120)
        #expect(JPEGScale.best(width: 640, height: 480, minimum: nil) == .identity)
        #expect(JPEGScale.best(width: 64, height: 64, minimum: ImageSize(width: 100, height: 100)) == .identity)
    }
}
