import Tensor

/// How a convolution is computed.
public enum ConvolutionAlgorithm: String, Sendable, Codable, CaseIterable {
    /// im2col + OpenBLAS sgemm, epilogue in a second pass over the output.
    case im2col
    /// im2col + CKernels' GEMM on weights packed at load, epilogue fused into the GEMM.
    case im2colPacked = "im2col-packed"
    case winograd2x2 = "winograd-f2x2"
    case winograd4x4 = "winograd-f4x4"
    /// CKernels' direct convolution, no patch matrix: for few input channels (an RGB stem).
    case direct

    public var winogradVariant: Winograd.Variant? {
        switch self {
        case .im2col, .im2colPacked, .direct: nil
        case .winograd2x2: .f2x2
        case .winograd4x4: .f4x4
        }
    }

    /// The algorithms that can compute a convolution of this shape.
    public static func candidates(for g: ConvGeometry) -> [ConvolutionAlgorithm] {
        [.im2col, .im2colPacked]
            + (g.isWinogradCandidate ? [.winograd2x2, .winograd4x4] : [])
            + (g.isDirectCandidate ? [.direct] : [])
    }

    /// The default choice without timing: Winograd F(4×4) once both channel counts are wide
    /// enough for its 36 GEMMs to run near peak; the 3-channel stem stays on im2col (K = 27).
    public static func preferred(for g: ConvGeometry) -> ConvolutionAlgorithm {
        g.isWinogradCandidate && g.inChannels >= 16 && g.outChannels >= 16 ? .winograd4x4 : .im2col
    }
}

/// A convolution with its BatchNorm folded in and its ReLU fused: `relu(W'·x + b')` with
/// `W' = W·γ/σ` and `b' = (b − μ)·γ/σ + β`. Immutable once planned; shared by every session.
///
/// Public so that a benchmark can time one algorithm on one layer shape exactly as the tuner does
/// (`init(_:algorithm:weight:bias:relu:)`, then `run`): the same packing, the same call.
public struct FusedConvolution: @unchecked Sendable {
    public let geometry: ConvGeometry
    /// [OC, C·KH·KW]
    var weight: [Float]
    /// [OC]
    var bias: [Float]
    var relu = false
    var foldedBatchNorm = false
    public internal(set) var algorithm: ConvolutionAlgorithm
    /// Packed for the kernels once planning is over.
    private(set) var weightBuffer = FloatBuffer(count: 0)
    private(set) var biasBuffer = FloatBuffer(count: 0)
    /// Winograd-transformed weights [α², OC, C], present when the algorithm is a Winograd variant.
    private(set) var transformed = FloatBuffer(count: 0)
    /// The weight packed for CKernels' GEMM, present when the algorithm is `im2colPacked`.
    private(set) var packed: PackedMatrix?
    /// The weight packed for CKernels' direct convolution, present when the algorithm is `direct`.
    private(set) var direct: DirectWeights?

    /// This convolution with `algorithm` instead, its weights packed for it.
    func choosing(_ algorithm: ConvolutionAlgorithm) -> FusedConvolution {
        var chosen = self
        chosen.algorithm = algorithm
        chosen.pack()
        return chosen
    }

    mutating func fold(scale: [Float], shift: [Float]) {
        let k = geometry.patchSize
        for o in 0..<geometry.outChannels {
            for i in 0..<k { weight[o * k + i] *= scale[o] }
            bias[o] = bias[o] * scale[o] + shift[o]
        }
        foldedBatchNorm = true
    }

    /// Copies the weights into aligned buffers and precomputes the Winograd transform.
    mutating func pack() {
        weightBuffer = FloatBuffer(weight)
        biasBuffer = FloatBuffer(bias)
        if let variant = algorithm.winogradVariant {
            transformed = FloatBuffer(count: variant.transformedWeightCount(
                outChannels: geometry.outChannels, inChannels: geometry.inChannels))
            Winograd.transformWeights(variant, weightBuffer.pointer, outChannels: geometry.outChannels,
                                      inChannels: geometry.inChannels, into: transformed.pointer)
        } else {
            transformed = FloatBuffer(count: 0)
        }
        packed = algorithm == .im2colPacked
            ? PackedMatrix(weightBuffer.pointer, rows: geometry.outChannels, columns: geometry.patchSize) : nil
        direct = algorithm == .direct ? DirectWeights(weightBuffer.pointer, geometry: geometry) : nil
    }

    /// input [C, N, H, W] → output [OC, N, OH, OW], adding `residual` (same shape as the output)
    /// before the ReLU when given; `relu` overrides the fused one.
    public func run(batch: Int, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                    residual: UnsafePointer<Float>? = nil, relu: Bool? = nil,
                    pool: ComputePool, scratch: [ScratchBuffer], level: KernelLevel = .current) {
        let epilogue = Epilogue(bias: biasBuffer.pointer, residual: residual, relu: relu ?? self.relu)
        if let variant = algorithm.winogradVariant {
            Winograd.forward(geometry, variant: variant, batch: batch, input: input,
                             transformedWeight: transformed.pointer, epilogue: epilogue, output: output,
                             pool: pool, scratch: scratch, level: level)
        } else if let direct {
            DirectConvolution.forward(geometry, batch: batch, input: input, weight: direct, epilogue: epilogue,
                                      output: output, pool: pool, scratch: scratch, level: level)
        } else if let packed {
            Convolution.forward(geometry, batch: batch, input: input, packedWeight: packed, epilogue: epilogue,
                                output: output, pool: pool, scratch: scratch, level: level)
        } else {
            Convolution.forward(geometry, batch: batch, input: input, weight: weightBuffer.pointer,
                                epilogue: epilogue, output: output, pool: pool, scratch: scratch)
        }
    }
}

extension FusedConvolution {
    // In an extension, so the planner keeps the memberwise initializer.
    /// weight [OC, C·KH·KW] and bias [OC], ready to run with `algorithm` (one of
    /// `ConvolutionAlgorithm.candidates(for: g)`), the ReLU fused when `relu`.
    public init(_ g: ConvGeometry, algorithm: ConvolutionAlgorithm, weight: [Float], bias: [Float], relu: Bool) {
        precondition(ConvolutionAlgorithm.candidates(for: g).contains(algorithm), "\(algorithm) cannot compute \(g)")
        precondition(weight.count == g.outChannels * g.patchSize && bias.count == g.outChannels,
                     "\(g) needs \(g.outChannels * g.patchSize) weights and \(g.outChannels) biases")
        self.init(geometry: g, weight: weight, bias: bias, relu: relu, algorithm: algorithm)
        pack()
    }
}

/// Dense weights for inference: weight [O, I], bias [O].
struct DenseWeights: @unchecked Sendable {
    let inputFeatures: Int
    let outputFeatures: Int
    let weight: FloatBuffer
    let bias: FloatBuffer
}

/// One step of the inference program.
indirect enum InferenceOp: @unchecked Sendable {
    case convolution(FusedConvolution)
    /// A BatchNorm with no convolution before it to fold into: y = scale·x + shift, optional ReLU.
    case affine(scale: [Float], shift: [Float], relu: Bool, plane: Int)
    /// Standalone ReLU over `size` floats per image.
    case relu(size: Int)
    case maxPool(ConvGeometry)
    case averagePool(ConvGeometry, countPadding: Bool)
    case globalAveragePool(channels: Int, plane: Int)
    case flatten(channels: Int, plane: Int)
    case dense(DenseWeights)
    /// relu(main(x) + shortcut(x)); an empty shortcut is the identity.
    case residual(main: [InferenceOp], shortcut: [InferenceOp])
}

/// Lowers a trained network into an inference program, folding each BatchNorm into the convolution
/// before it and fusing ReLUs into the convolution epilogue.
struct InferencePlanBuilder {
    private(set) var ops: [InferenceOp] = []
    /// The largest activation (floats per image) any op produces, for sizing session buffers.
    private(set) var largestActivation: Int
    private(set) var shape: ActivationShape

    init(input: ActivationShape) {
        shape = input
        largestActivation = input.size
    }

    mutating func append(_ op: InferenceOp, output: ActivationShape) {
        ops.append(op)
        shape = output
        largestActivation = max(largestActivation, output.size)
    }

    mutating func appendConvolution(_ conv: Conv2D, parameters: ParameterStore) {
        let g = conv.geometry
        let weight = Array(UnsafeBufferPointer(start: parameters.value(conv.weight), count: conv.weight.count))
        let bias = conv.bias.map { Array(UnsafeBufferPointer(start: parameters.value($0), count: $0.count)) }
            ?? Array(repeating: 0, count: g.outChannels)
        let fused = FusedConvolution(geometry: g, weight: weight, bias: bias,
                                     algorithm: .preferred(for: g))
        append(.convolution(fused), output: conv.outputShape)
    }

    mutating func appendAffine(_ affine: (scale: [Float], shift: [Float]), shape: ActivationShape) {
        if case .convolution(var conv)? = ops.last, !conv.foldedBatchNorm, !conv.relu {
            conv.fold(scale: affine.scale, shift: affine.shift)
            ops[ops.count - 1] = .convolution(conv)
        } else {
            append(.affine(scale: affine.scale, shift: affine.shift, relu: false, plane: shape.plane), output: shape)
        }
    }

    mutating func appendReLU() {
        switch ops.last {
        case .convolution(var conv)? where !conv.relu:
            conv.relu = true
            ops[ops.count - 1] = .convolution(conv)
        case .affine(let scale, let shift, false, let plane)?:
            ops[ops.count - 1] = .affine(scale: scale, shift: shift, relu: true, plane: plane)
        default:
            append(.relu(size: shape.size), output: shape)
        }
    }

    mutating func appendResidual(main: [InferenceOp], shortcut: [InferenceOp], output: ActivationShape) {
        let inner = max(InferencePlanBuilder.largest(main), InferencePlanBuilder.largest(shortcut))
        largestActivation = max(largestActivation, inner)
        append(.residual(main: main, shortcut: shortcut), output: output)
    }

    private static func largest(_ ops: [InferenceOp]) -> Int {
        ops.reduce(0) { best, op in
            if case .convolution(let c) = op { return max(best, c.geometry.outChannels * c.geometry.outputPlane) }
            return best
        }
    }

    /// Packs every convolution's buffers; call once when planning is done.
    static func pack(_ ops: [InferenceOp]) -> [InferenceOp] {
        ops.map { op in
            switch op {
            case .convolution(var conv):
                conv.pack()
                return .convolution(conv)
            case .residual(let main, let shortcut):
                return .residual(main: pack(main), shortcut: pack(shortcut))
            default:
                return op
            }
        }
    }
}
