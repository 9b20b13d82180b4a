@testable import Imaging
import Testing

@Suite("PNG codec")
struct PNGCodecTests {
    @Test("lossless round-trip", arguments: [ImageSize(width: 1, height: 1), ImageSize(width: 31, height: 7),
                                             ImageSize(width: 64, height: 64)])
    func roundTrip(size: ImageSize) throws {
        let image = SyntheticImage.photoLike(width: size.width, height: size.height, seed: 9)
        let png = try PNGEncoder.encode(image)
        #expect(ImageFormat.sniff(png) == .png)
        #expect(try ImageDecoder.decode(png) == image)
    }

    @Test func grayExpandsToRGB() throws {
        let gray: [UInt8] = (0..<(20 * 10)).map { UInt8($0 % 256) }
        let png = try PNGEncoder.encode(pixels: gray, width: 20, height: 10, channels: .gray)
        let d = try ImageDecoder.decode(png)
        for i in 0..<gray.count {
            #expect(d.pixels[i * 3] == gray[i] && d.pixels[i * 3 + 1] == gray[i] && d.pixels[i * 3 + 2] == gray[i])
        }
    }

    @Test("alpha is composited on white", arguments: [PNGEncoder.Channels.rgba, .grayAlpha])
    func alphaOnWhite(channels: PNGEncoder.Channels) throws {
        // Pixels: opaque dark, fully transparent, half transparent dark.
        let px: [[UInt8]] = channels == .rgba
            ? [[10, 20, 30, 255], [10, 20, 30, 0], [0, 0, 0, 128]]
            : [[20, 255], [20, 0], [0, 128]]
        let png = try PNGEncoder.encode(pixels: px.flatMap { $0 }, width: 3, height: 1, channels: channels)
        let d = try ImageDecoder.decode(png)
        let opaque = channels == .rgba ? [10, 20, 30] : [20, 20, 20]
        #expect(d.pixels[0..<3].map { Int($0) } == opaque)
        #expect(Array(d.pixels[3..<6]) == [255, 255, 255])
        // Half-transparent black over white, blended in sRGB: 255 * (1 - 128/255) = 127.
        #expect(Array(d.pixels[6..<9]) == [127, 127, 127])
    }

    @Test func paletteWithTransparency() throws {
        // 4x1, 2-bit palette: red, green, blue, transparent entry 3.
        let plte = RawPNG.chunk("PLTE", [255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9])
        let trns = RawPNG.chunk("tRNS", [255, 255, 255, 0])
        let png = RawPNG.make(width: 4, height: 1, bitDepth: 2, colorType: 3,
                              rows: [[0b00_01_10_11]], extraChunks: [plte, trns])
        let d = try ImageDecoder.decode(png)
        #expect(d.pixels == [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255])
    }

    @Test func oneBitGray() throws {
        let png = RawPNG.make(width: 8, height: 1, bitDepth: 1, colorType: 0, rows: [[0b1010_0000]])
        let d = try ImageDecoder.decode(png)
        #expect(d.pixels.enumerated().filter { $0.offset % 3 == 0 }.map(\.element) == [255, 0, 255, 0, 0, 0, 0, 0])
    }

    @Test("16-bit samples are treated as sRGB and scaled to 8 bits", arguments: [UInt8(0), 2])
    func sixteenBit(colorType: UInt8) throws {
        // Values v*257 must decode to v (within 1).
        let values: [UInt16] = [0, 257 * 64, 257 * 128, 65535]
        var row: [UInt8] = []
        for v in values {
            for _ in 0..<(colorType == 2 ? 3 : 1) { row += [UInt8(v >> 8), UInt8(v & 0xFF)] }
        }
        let png = RawPNG.make(width: 4, height: 1, bitDepth: 16, colorType: colorType, rows: [row])
        let d = try ImageDecoder.decode(png)
        let expected = [0, 64, 128, 255]
        for i in 0..<4 { #expect(abs(Int(d.pixels[i * 3 + 1]) - expected[i]) <= 1) }
    }

    @Test func sixteenBitRGBAOnWhite() throws {
        // Fully transparent 16-bit RGBA pixel becomes white, opaque one keeps its colour.
        let row: [UInt8] = [0x40, 0x40, 0x80, 0x80, 0xC0, 0xC0, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0]
        let png = RawPNG.make(width: 2, height: 1, bitDepth: 16, colorType: 6, rows: [row])
        let d = try ImageDecoder.decode(png)
        #expect(Array(d.pixels[3..<6]) == [255, 255, 255])
        #expect(abs(Int(d.pixels[0]) - 0x40) <= 1 && abs(Int(d.pixels[2]) - 0xC0) <= 1)
    }
}
