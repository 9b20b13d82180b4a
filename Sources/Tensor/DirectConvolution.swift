import CKernels

/// A convolution weight packed once for CKernels' direct convolution: [ceil(OC/G)][C·KH·KW][G],
/// G = `BK_DIRECT_OCB` output channels per register tile.
public final class DirectWeights: @unchecked Sendable {
    public let geometry: ConvGeometry
    private let storage: FloatBuffer

    /// weight [OC, C·KH·KW].
    public init(_ weight: UnsafePointer<Float>, geometry g: ConvGeometry) {
        precondition(g.outChannels > 0 && g.patchSize > 0, "DirectWeights needs a non-empty weight, got \(g)")
        geometry = g
        storage = FloatBuffer(count: bk_direct_weight_floats(Int32(g.outChannels), Int32(g.patchSize)))
        bk_direct_pack_weights(Int32(g.outChannels), Int32(g.patchSize), weight, storage.pointer)
    }

    var pointer: UnsafePointer<Float> { UnsafePointer(storage.pointer) }
}

extension ConvGeometry {
    /// Whether the direct convolution is worth timing: few input channels (an RGB or grey stem),
    /// where im2col's patch matrix has few rows and unfolding it costs about as much as the GEMM.
    public var isDirectCandidate: Bool { inChannels <= 4 }
}

public enum DirectConvolution {
    /// input [C, N, H, W] → output [OC, N, OH, OW], then the epilogue (bias per output channel,
    /// residual laid out like the output, ReLU). Workers split the output rows of all images.
    public static func forward(
        _ g: ConvGeometry, batch: Int, input: UnsafePointer<Float>, weight: DirectWeights,
        epilogue: Epilogue = .none, output: UnsafeMutablePointer<Float>,
        pool: ComputePool, scratch: [ScratchBuffer], level: KernelLevel = .current
    ) {
        precondition(weight.geometry == g, "direct weights are for \(weight.geometry), the convolution is \(g)")
        let rows = batch * g.outHeight
        guard rows > 0, g.outWidth > 0 else { return }
        let ep = bk_epilogue(bias: epilogue.bias, residual: epilogue.residual, ldr: 0, relu: epilogue.relu ? 1 : 0)
        // One pointer to each of the shape and the epilogue, read by every worker.
        withUnsafePointer(to: g.kernelShape) { shape in
            withUnsafePointer(to: ep) { ep in
                let floats = bk_direct_scratch_floats(level.raw, shape)
                pool.forEachRange(rows) { worker, range in
                    let buffer = scratch[worker].reserve(floats)
                    bk_direct_conv_rows(level.raw, shape, Int32(batch), input, weight.pointer, ep, output,
                                        Int32(range.lowerBound), Int32(range.upperBound), buffer)
                }
            }
        }
    }
}
