import CKernels

/// BatchNorm's passes over one channel's `count` contiguous values (N·H·W in the [C, N, H, W]
/// layout), on CKernels at `level`: vectors of the level's width with four accumulators, where
/// four-lane Swift SIMD ran one dependent add at a time (a training step of scene-s spent a quarter
/// of its time in BatchNorm).
public enum Normalization {
    /// Σ x and Σ (x − mean)² with mean = Σ x / count.
    public static func statistics(_ x: UnsafePointer<Float>, count: Int,
                                  level: KernelLevel = .current) -> (sum: Double, squares: Double) {
        var sum = 0.0, squares = 0.0
        bk_norm_statistics(level.raw, x, count, &sum, &squares)
        return (sum, squares)
    }

    /// y = relu?(x · scale + shift); y may be x.
    public static func apply(_ x: UnsafePointer<Float>, count: Int, scale: Float, shift: Float, relu: Bool,
                             into y: UnsafeMutablePointer<Float>, level: KernelLevel = .current) {
        bk_norm_apply(level.raw, x, count, scale, shift, relu ? 1 : 0, y)
    }

    /// The backward's two sums: Σ g and Σ g·(x − mean), where g is dy, or with a fused ReLU (`mask`,
    /// the layer's output) dy where mask > 0.
    public static func gradientSums(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, mean: Float,
                                    mask: UnsafePointer<Float>?, count: Int,
                                    level: KernelLevel = .current) -> (sum: Double, weighted: Double) {
        var sum = 0.0, weighted = 0.0
        bk_norm_gradient_sums(level.raw, dy, x, mask, count, mean, &sum, &weighted)
        return (sum, weighted)
    }

    /// dx = k · (g − meanG − (x − mean) · slope), g masked as in `gradientSums`; with the sums from
    /// `gradientSums` this is BatchNorm's input gradient (slope = 0 and meanG = 0 for running
    /// statistics).
    public static func inputGradient(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, mask: UnsafePointer<Float>?,
                                     count: Int, k: Float, meanG: Float, mean: Float, slope: Float,
                                     into dx: UnsafeMutablePointer<Float>, level: KernelLevel = .current) {
        bk_norm_input_gradient(level.raw, dy, x, mask, count, k, meanG, mean, slope, dx)
    }
}
