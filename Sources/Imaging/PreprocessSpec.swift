/// How a decoded image becomes the model's input tensor.
public struct PreprocessSpec: Sendable, Equatable {
    public enum ResizeMode: Sendable, Equatable {
        /// Resize so the shorter side matches the target, then take the centre
        /// (the standard ImageNet evaluation transform; keeps aspect ratio).
        case centerCrop
        /// Stretch the whole image to the target (keeps all content, distorts).
        case squash
    }

    public var width: Int
    public var height: Int
    public var resizeMode: ResizeMode
    /// Per-channel mean/std applied to 0...1 values (3 entries each).
    public var mean: [Float]
    public var std: [Float]

    public init(width: Int, height: Int, resizeMode: ResizeMode = .centerCrop,
                mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]) {
        self.width = width
        self.height = height
        self.resizeMode = resizeMode
        self.mean = mean
        self.std = std
    }

    /// Number of floats one image occupies in the NCHW batch: 3 * height * width.
    public var floatsPerImage: Int { 3 * width * height }

    public var normalization: Normalization { Normalization(mean: mean, std: std) }

    /// The source region (in `source` pixel coordinates) that maps onto the output.
    public func region(for source: ImageSize) -> CropRegion {
        switch resizeMode {
        case .squash:
            return .full(source)
        case .centerCrop:
            let s = scale(for: source)
            let w = min(Double(source.width), Double(width) / s)
            let h = min(Double(source.height), Double(height) / s)
            return CropRegion(x: (Double(source.width) - w) / 2, y: (Double(source.height) - h) / 2,
                              width: w, height: h)
        }
    }

    /// The smallest decoded size that still gives the output full resolution:
    /// DCT-scaled JPEG decoding may stop there instead of decoding every pixel.
    public func minimumDecodeSize(for source: ImageSize) -> ImageSize {
        switch resizeMode {
        case .squash:
            return ImageSize(width: width, height: height)
        case .centerCrop:
            let s = scale(for: source)
            return ImageSize(width: Int((Double(source.width) * s - 1e-9).rounded(.up)),
                             height: Int((Double(source.height) * s - 1e-9).rounded(.up)))
        }
    }

    private func scale(for source: ImageSize) -> Double {
        max(Double(width) / Double(max(source.width, 1)), Double(height) / Double(max(source.height, 1)))
    }

    /// Refuses empty or absurd targets before any work is done.
    func validate() throws(ImagingError) {
        guard width > 0, height > 0, width <= 16_384, height <= 16_384 else {
            throw .invalidArgument(reason: "invalid preprocessing target size \(width)x\(height) (must be 1...16384)")
        }
    }
}
