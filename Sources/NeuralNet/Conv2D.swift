import Tensor

/// 2-D convolution, any kernel, stride and padding.
///
/// weight [OC, C·KH·KW] (PyTorch's [OC, C, KH, KW] flattened), bias [OC] optional.
/// Forward: Winograd F(2×2,3×3) for wide "same" 3×3 layers, im2col + sgemm otherwise.
/// Backward: where the forward used Winograd, the weight gradient is Winograd's transposed GEMMs
/// and the data gradient the Winograd adjoint convolution; otherwise sgemm with im2col / col2im.
final class Conv2D: Layer {
    let name: String
    let geometry: ConvGeometry
    let weight: ParameterSlot
    let bias: ParameterSlot?
    /// Training uses the default algorithm for the shape; inference models may be re-tuned by timing.
    let algorithm: ConvolutionAlgorithm
    var inputShape: ActivationShape { .spatial(geometry.inChannels, geometry.height, geometry.width) }
    var outputShape: ActivationShape { .spatial(geometry.outChannels, geometry.outHeight, geometry.outWidth) }

    private var input: Activation?
    private var output = ReusableBuffer()
    private var gradInput = ReusableBuffer()
    private let transformed = ScratchBuffer()

    init(name: String, geometry: ConvGeometry, bias hasBias: Bool, registry: ParameterRegistry) {
        self.name = name
        self.geometry = geometry
        weight = registry.parameter("\(name).weight",
            shape: [geometry.outChannels, geometry.inChannels, geometry.kernelHeight, geometry.kernelWidth], decays: true)
        bias = hasBias ? registry.parameter("\(name).bias", shape: [geometry.outChannels], decays: false) : nil
        algorithm = .preferred(for: geometry)
    }

    func forward(_ x: Activation, _ context: RunContext) -> Activation {
        input = x
        let g = geometry, p = context.parameters
        let out = output.take(g.outChannels * x.batch * g.outputPlane)
        let epilogue = Epilogue(bias: bias.map { UnsafePointer(p.value($0)) })
        if let variant = algorithm.winogradVariant {
            let u = transformed.reserve(variant.transformedWeightCount(outChannels: g.outChannels, inChannels: g.inChannels))
            Winograd.transformWeights(variant, p.value(weight), outChannels: g.outChannels, inChannels: g.inChannels, into: u)
            Winograd.forward(g, variant: variant, batch: x.batch, input: x.pointer, transformedWeight: u, epilogue: epilogue,
                             output: out.pointer, pool: context.pool, scratch: context.scratch)
        } else {
            Convolution.forward(g, batch: x.batch, input: x.pointer, weight: p.value(weight), epilogue: epilogue,
                                output: out.pointer, pool: context.pool, scratch: context.scratch)
        }
        return Activation(shape: outputShape, batch: x.batch, buffer: out)
    }

    func backward(_ dy: Activation, _ context: RunContext, needsInputGradient: Bool) -> Activation? {
        guard let x = input else { preconditionFailure("\(name): backward before forward") }
        let g = geometry, p = context.parameters
        if let variant = algorithm.winogradVariant {
            Winograd.backwardWeight(g, variant: variant, batch: x.batch, input: x.pointer, gradOutput: dy.pointer,
                                    gradWeight: p.gradient(weight), pool: context.pool,
                                    scratch: context.scratch, partials: context.partials)
        } else {
            Convolution.backwardWeight(g, batch: x.batch, input: x.pointer, gradOutput: dy.pointer,
                                       gradWeight: p.gradient(weight), pool: context.pool,
                                       scratch: context.scratch, partials: context.partials)
        }
        if let bias {
            Convolution.backwardBias(channels: g.outChannels, columns: dy.batch * g.outputPlane,
                                     gradOutput: dy.pointer, gradBias: p.gradient(bias))
        }
        guard needsInputGradient else { return nil }
        let dx = gradInput.take(x.count)
        if let variant = algorithm.winogradVariant {
            let adjointGeometry = ConvGeometry(inChannels: g.outChannels, outChannels: g.inChannels,
                                               height: g.height, width: g.width, kernel: 3, stride: 1, padding: 1)
            // The adjoint maps OC channels to C: its transformed (for F(4×4), packed) size is its own.
            let count = variant.transformedWeightCount(outChannels: g.inChannels, inChannels: g.outChannels)
            let adjoint = transformed.reserve(count + 9 * g.outChannels * g.inChannels)
            let flipped = adjoint + count
            Winograd.adjointWeights(p.value(weight), outChannels: g.outChannels, inChannels: g.inChannels, into: flipped)
            Winograd.transformWeights(variant, flipped, outChannels: g.inChannels, inChannels: g.outChannels, into: adjoint)
            Winograd.forward(adjointGeometry, variant: variant, batch: x.batch, input: dy.pointer, transformedWeight: adjoint,
                             output: dx.pointer, pool: context.pool, scratch: context.scratch)
        } else {
            Convolution.backwardData(g, batch: x.batch, gradOutput: dy.pointer, weight: p.value(weight),
                                     gradInput: dx.pointer, pool: context.pool, scratch: context.scratch)
        }
        return Activation(shape: inputShape, batch: x.batch, buffer: dx)
    }

    func lower(into plan: inout InferencePlanBuilder, parameters: ParameterStore) {
        plan.appendConvolution(self, parameters: parameters)
    }
}
