#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Tensor

/// Training-time augmentation parameters.
///
/// Defaults are milder than torchvision's RandomResizedCrop (scale 0.08...1):
/// with small inputs (e.g. 64x64) an 8% crop leaves too little of the object,
/// so the default keeps at least 35% of the image area.
public struct AugmentationSpec: Sendable, Equatable {
    /// Fraction of the source area the crop covers.
    public var scale: ClosedRange<Double>
    /// Crop aspect ratio (width/height), sampled log-uniformly.
    public var aspectRatio: ClosedRange<Double>
    public var horizontalFlipProbability: Double
    /// Factors are drawn from 1 ± these values (0 disables).
    public var brightness: Double
    public var contrast: Double
    public var saturation: Double

    public init(scale: ClosedRange<Double> = 0.35...1, aspectRatio: ClosedRange<Double> = (3.0 / 4)...(4.0 / 3),
                horizontalFlipProbability: Double = 0.5,
                brightness: Double = 0.2, contrast: Double = 0.2, saturation: Double = 0.2) {
        self.scale = max(1e-4, scale.lowerBound)...max(1e-4, min(1, scale.upperBound))
        self.aspectRatio = max(1e-3, aspectRatio.lowerBound)...max(1e-3, aspectRatio.upperBound)
        self.horizontalFlipProbability = horizontalFlipProbability
        self.brightness = max(0, brightness)
        self.contrast = max(0, contrast)
        self.saturation = max(0, saturation)
    }

    /// The random parameters for one sample, drawn in a fixed order so a
    /// seed fully determines them.
    struct Draw {
        var region: CropRegion
        var flip: Bool
        var brightness: Float
        var contrast: Float
        var saturation: Float
    }

    /// torchvision's RandomResizedCrop sampling (10 attempts, then a
    /// centred crop with the aspect ratio clamped), on fractional coordinates.
    func draw(for size: ImageSize, rng: inout SeededGenerator) -> Draw {
        let w = Double(size.width), h = Double(size.height), area = w * h
        let logRatio = log(aspectRatio.lowerBound)...log(aspectRatio.upperBound)
        var region: CropRegion?
        for _ in 0..<10 {
            let target = area * rng.uniform(scale)
            let ratio = exp(rng.uniform(logRatio))
            let cw = (target * ratio).squareRoot(), ch = (target / ratio).squareRoot()
            if cw <= w, ch <= h, region == nil {
                region = CropRegion(x: rng.uniform(0...(w - cw)), y: rng.uniform(0...(h - ch)),
                                    width: cw, height: ch)
            }
        }
        if region == nil {
            let r = w / h
            let (cw, ch) = r < aspectRatio.lowerBound ? (w, w / aspectRatio.lowerBound)
                : r > aspectRatio.upperBound ? (h * aspectRatio.upperBound, h) : (w, h)
            region = CropRegion(x: (w - cw) / 2, y: (h - ch) / 2, width: cw, height: ch)
        }
        let flip = rng.nextUnit() < horizontalFlipProbability
        let b = Float(rng.uniform((1 - brightness)...(1 + brightness)))
        let c = Float(rng.uniform((1 - contrast)...(1 + contrast)))
        let s = Float(rng.uniform((1 - saturation)...(1 + saturation)))
        return Draw(region: region ?? .full(size), flip: flip, brightness: max(0, b),
                    contrast: max(0, c), saturation: max(0, s))
    }

    /// Conservative decode size: large enough that even the smallest possible
    /// crop still has the output's resolution, so DCT scaling never costs detail.
    func minimumDecodeSize(for source: ImageSize, output: PreprocessSpec) -> ImageSize {
        let w = Double(source.width), h = Double(source.height), area = w * h
        let minW = min(w, (scale.lowerBound * area * aspectRatio.lowerBound).squareRoot())
        let minH = min(h, (scale.lowerBound * area / aspectRatio.upperBound).squareRoot())
        let f = max(Double(output.width) / max(minW, 1e-9), Double(output.height) / max(minH, 1e-9))
        return ImageSize(width: Int(min(w * f, 1e9).rounded(.up)), height: Int(min(h * f, 1e9).rounded(.up)))
    }
}
