/// A width/height pair in pixels.
public struct ImageSize: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var width: Int
    public var height: Int
    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }
    public var description: String { "\(width)x\(height)" }
}

/// A decoded 8-bit image, interleaved RGB, rows top to bottom, no padding.
///
/// This is the single intermediate the pipeline keeps per image: decoders
/// write into it directly and preprocessing reads from it.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `width * height * 3` bytes, R G B R G B ...
    public var pixels: [UInt8]

    /// Creates an image; returns nil when `pixels.count != width*height*3`
    /// or a dimension is not positive.
    public init?(width: Int, height: Int, pixels: [UInt8]) {
        guard width > 0, height > 0 else { return nil }
        let (n, o1) = width.multipliedReportingOverflow(by: height)
        let (bytes, o2) = n.multipliedReportingOverflow(by: 3)
        guard !o1, !o2, bytes == pixels.count else { return nil }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Internal unchecked initializer for sizes already validated by a decoder.
    init(uncheckedWidth width: Int, height: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    public var size: ImageSize { ImageSize(width: width, height: height) }

    /// The RGB triple at (x, y); traps on out-of-range coordinates (caller bug).
    public subscript(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8) {
        precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel out of range")
        let i = (y * width + x) * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }
}
