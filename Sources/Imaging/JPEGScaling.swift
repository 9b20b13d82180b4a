import CTurboJPEG

/// A DCT-domain scale factor num/denom supported by libjpeg-turbo.
struct JPEGScale: Sendable, Equatable {
    var num: Int
    var denom: Int

    /// TJSCALED(): ceil(dimension * num / denom), as libjpeg computes it.
    func scaled(_ dimension: Int) -> Int { (dimension * num + denom - 1) / denom }

    static let identity = JPEGScale(num: 1, denom: 1)

    /// Factors TurboJPEG can apply while decoding (1/8 ... 2/1), smallest first.
    /// Factors above 1 are dropped: enlarging is the resizer's job.
    static let available: [JPEGScale] = {
        var count: Int32 = 0
        guard let p = tjGetScalingFactors(&count), count > 0 else { return [.identity] }
        var list: [JPEGScale] = []
        for i in 0..<Int(count) {
            let f = p[i]
            guard f.num > 0, f.denom > 0, f.num <= f.denom else { continue }
            list.append(JPEGScale(num: Int(f.num), denom: Int(f.denom)))
        }
        if list.isEmpty { list = [.identity] }
        return list.sorted { $0.num * $1.denom < $1.num * $0.denom }
    }()

    /// The smallest factor whose output is still at least `minimum` in both
    /// dimensions. Scaling in the IDCT skips most of the inverse transform and
    /// colour conversion work, which is where 2-8x decode speedups come from.
    static func best(width: Int, height: Int, minimum: ImageSize?) -> JPEGScale {
        guard let minimum else { return .identity }
        for s in available where s.scaled(width) >= minimum.width && s.scaled(height) >= minimum.height {
            return s
        }
        return .identity
    }
}
