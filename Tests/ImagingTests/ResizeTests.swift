@testable import Imaging
import Testing

@Suite("resize and normalisation")
struct ResizeTests {
    static func planes(_ image: RGBImage, region: CropRegion? = nil, to size: ImageSize,
                       transform: ChannelTransform = .identity, flip: Bool = false) -> [Float] {
        var out = [Float](repeating: .nan, count: 3 * size.width * size.height)
        out.withUnsafeMutableBufferPointer {
            ImageResizer.resample(image, region: region, to: size, flipHorizontally: flip,
                                  transform: transform, into: $0.baseAddress!)
        }
        return out
    }

    @Test("area resize matches the naive reference", arguments: [
        (ImageSize(width: 64, height: 48), ImageSize(width: 16, height: 12), nil as CropRegion?),
        (ImageSize(width: 64, height: 48), ImageSize(width: 7, height: 5), nil),
        (ImageSize(width: 50, height: 37), ImageSize(width: 13, height: 11), nil),
        (ImageSize(width: 64, height: 48), ImageSize(width: 10, height: 10),
         CropRegion(x: 5.25, y: 3.5, width: 40.5, height: 33.75)),
        (ImageSize(width: 40, height: 40), ImageSize(width: 40, height: 40), nil),
    ])
    func areaMatchesReference(source: ImageSize, target: ImageSize, region: CropRegion?) {
        let img = SyntheticImage.photoLike(width: source.width, height: source.height, seed: 11)
        let fast = Self.planes(img, region: region, to: target)
        let slow = ReferenceResize.area(img, region: region, to: target)
        var worst: Float = 0
        for i in 0..<fast.count { worst = max(worst, abs(fast[i] - slow[i])) }
        #expect(worst < 0.01, "max abs difference \(worst)")
    }

    @Test func areaAveragingDoesNotAlias() {
        // 1-pixel black/white stripes shrunk 4x must come out uniform grey, not stripes.
        var px: [UInt8] = []
        for _ in 0..<32 { for x in 0..<64 { let v: UInt8 = x % 2 == 0 ? 0 : 255; px += [v, v, v] } }
        let img = RGBImage(width: 64, height: 32, pixels: px)!
        let out = Self.planes(img, to: ImageSize(width: 16, height: 8))
        for v in out { #expect(abs(v - 127.5) < 0.01) }
    }

    @Test func bilinearEnlargeSanity() {
        // Horizontal ramp 0, 100, 200 (3 px) enlarged to 6 px: half-pixel-centre bilinear.
        let img = RGBImage(width: 3, height: 1, pixels: [0, 0, 0, 100, 100, 100, 200, 200, 200])!
        let out = Self.planes(img, to: ImageSize(width: 6, height: 2))
        let row = Array(out[0..<6])
        let expected: [Float] = [0, 25, 75, 125, 175, 200]
        for i in 0..<6 { #expect(abs(row[i] - expected[i]) < 1e-3) }
        #expect(Array(out[6..<12]) == row, "second output row replicates the single source row")
        // Constant image stays constant; enlargement is monotone on a ramp.
        let flat = RGBImage(width: 2, height: 2, pixels: [UInt8](repeating: 77, count: 12))!
        #expect(Self.planes(flat, to: ImageSize(width: 9, height: 5)).allSatisfy { abs($0 - 77) < 1e-3 })
    }

    @Test func flipMirrorsColumns() {
        let img = SyntheticImage.photoLike(width: 20, height: 10, seed: 4)
        let size = ImageSize(width: 10, height: 5)
        let a = Self.planes(img, to: size), b = Self.planes(img, to: size, flip: true)
        for c in 0..<3 { for y in 0..<5 { for x in 0..<10 {
            #expect(a[c * 50 + y * 10 + x] == b[c * 50 + y * 10 + (9 - x)])
        } } }
    }

    @Test func normalizationMath() {
        let n = Normalization(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
        let img = RGBImage(width: 1, height: 1, pixels: [255, 0, 128])!
        let out = Self.planes(img, to: ImageSize(width: 1, height: 1), transform: n.transformFrom255)
        #expect(abs(out[0] - (1 - 0.485) / 0.229) < 1e-5)
        #expect(abs(out[1] - (0 - 0.456) / 0.224) < 1e-5)
        #expect(abs(out[2] - (128.0 / 255 - 0.406) / 0.225) < 1e-5)
        var planes: [Float] = [1, 0, 128.0 / 255]
        planes.withUnsafeMutableBufferPointer { n.apply(toPlanes: $0.baseAddress!, pixelsPerPlane: 1) }
        for i in 0..<3 { #expect(abs(planes[i] - out[i]) < 1e-5) }
        // Zero / missing std never yields inf or NaN.
        let safe = Normalization(mean: [0.5], std: [0, .nan])
        #expect(safe.std == (1, 1, 1) && safe.mean == (0.5, 0, 0))
    }

    @Test func centerCropRegion() {
        let spec = PreprocessSpec(width: 64, height: 64, resizeMode: .centerCrop)
        #expect(spec.region(for: ImageSize(width: 640, height: 480))
                == CropRegion(x: 80, y: 0, width: 480, height: 480))
        #expect(spec.region(for: ImageSize(width: 300, height: 600))
                == CropRegion(x: 0, y: 150, width: 300, height: 300))
        let wide = PreprocessSpec(width: 128, height: 64, resizeMode: .centerCrop)
        #expect(wide.region(for: ImageSize(width: 200, height: 200))
                == CropRegion(x: 0, y: 50, width: 200, height: 100))
        #expect(PreprocessSpec(width: 8, height: 8, resizeMode: .squash).region(for: ImageSize(width: 30, height: 20))
                == CropRegion.full(ImageSize(width: 30, height: 20)))
    }

    @Test("batch preprocessing writes exactly one NCHW slot per image", arguments: [PreprocessSpec.ResizeMode.centerCrop, .squash])
    func batchLayout(mode: PreprocessSpec.ResizeMode) throws {
        let spec = PreprocessSpec(width: 16, height: 12, resizeMode: mode, mean: [0, 0, 0], std: [1, 1, 1])
        let images = (0..<3).map { SyntheticImage.photoLike(width: 60 + 10 * $0, height: 40, seed: UInt64($0)) }
        let encoded = try images.map { try PNGEncoder.encode($0) }
        let sentinel: Float = -999
        var batch = [Float](repeating: sentinel, count: spec.floatsPerImage * 3 + 1)
        try batch.withUnsafeMutableBufferPointer { buf in
            for (i, bytes) in encoded.enumerated() {
                try Preprocessor.preprocess(bytes, spec: spec, into: buf.baseAddress! + i * spec.floatsPerImage)
            }
        }
        #expect(batch.last == sentinel, "must not write past 3 images")
        #expect(batch.dropLast().allSatisfy { $0 >= 0 && $0 <= 1 })
        // Compare slot 1 with resizing the decoded image directly.
        let expected = Self.planes(images[1], region: spec.region(for: images[1].size),
                                   to: ImageSize(width: 16, height: 12), transform: .unit)
        let slot = Array(batch[spec.floatsPerImage..<(2 * spec.floatsPerImage)])
        #expect(meanAbsError(slot, expected) < 1e-6)
    }

    @Test func resizeToRGBImage() throws {
        let img = SyntheticImage.smooth(width: 40, height: 30)
        let small = try #require(ImageResizer.resize(img, to: ImageSize(width: 20, height: 15)))
        #expect(small.size == ImageSize(width: 20, height: 15))
        #expect(ImageResizer.resize(img, to: ImageSize(width: 0, height: 5)) == nil)
        // Smooth gradient: 2x area average ~ the sample between source pixels.
        #expect(abs(Int(small[10, 7].r) - Int(img[20, 14].r)) <= 3)
    }
}
