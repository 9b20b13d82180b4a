/// The shape arithmetic of one 2-D convolution or pooling window, independent of batch size.
///
/// Activations inside the engine are laid out **[C, N, H, W]** (channel-major across the batch):
/// every convolution then becomes one GEMM over all images at once (`[OC, C·KH·KW] × [C·KH·KW,
/// N·OH·OW]`), whose output is already the next layer's input layout, and batch normalisation reads
/// each channel as one contiguous run. Public entry points take and return NCHW.
public struct ConvGeometry: Hashable, Sendable, CustomStringConvertible {
    public var inChannels: Int
    public var outChannels: Int
    public var height: Int
    public var width: Int
    public var kernelHeight: Int
    public var kernelWidth: Int
    public var stride: Int
    public var padding: Int

    public init(
        inChannels: Int, outChannels: Int, height: Int, width: Int,
        kernel: Int, stride: Int = 1, padding: Int = 0
    ) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.height = height
        self.width = width
        self.kernelHeight = kernel
        self.kernelWidth = kernel
        self.stride = stride
        self.padding = padding
    }

    /// 0 when the padded input is smaller than the window: Swift's `/` truncates toward zero, so the
    /// plain formula would report a spurious row (or a negative size) there.
    public var outHeight: Int { height + 2 * padding < kernelHeight ? 0 : (height + 2 * padding - kernelHeight) / stride + 1 }
    public var outWidth: Int { width + 2 * padding < kernelWidth ? 0 : (width + 2 * padding - kernelWidth) / stride + 1 }
    /// Rows of the im2col matrix: the length of one flattened receptive field.
    public var patchSize: Int { inChannels * kernelHeight * kernelWidth }
    public var inputPlane: Int { height * width }
    public var outputPlane: Int { outHeight * outWidth }

    /// Multiply-adds ×2 for a batch of `n` images.
    public func flops(batch n: Int) -> Double {
        2.0 * Double(outChannels) * Double(patchSize) * Double(outputPlane) * Double(n)
    }

    /// Whether the layer is a "same" 3×3 stride-1 convolution, the shape Winograd F(2×2,3×3) serves.
    public var isWinogradCandidate: Bool {
        kernelHeight == 3 && kernelWidth == 3 && stride == 1 && padding == 1
    }

    /// A 1×1, stride-1, unpadded convolution needs no im2col: the input already is the matrix.
    public var isPointwise: Bool {
        kernelHeight == 1 && kernelWidth == 1 && stride == 1 && padding == 0
    }

    public var description: String {
        "\(inChannels)->\(outChannels) \(kernelHeight)x\(kernelWidth)/s\(stride)p\(padding) @\(height)x\(width)"
    }
}
