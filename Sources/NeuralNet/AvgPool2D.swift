import Tensor

/// Average pooling with any window, stride and padding (what ONNX's AveragePool and Keras'
/// AveragePooling2D compute). input [C, N, H, W] → [C, N, OH, OW]; `countPadding` divides every
/// window by k² (padding counted as zeros) instead of by its cells inside the image.
final class AvgPool2D: Layer {
    let name: String
    let geometry: ConvGeometry
    let countPadding: Bool
    var inputShape: ActivationShape { .spatial(geometry.inChannels, geometry.height, geometry.width) }
    var outputShape: ActivationShape { .spatial(geometry.inChannels, geometry.outHeight, geometry.outWidth) }
    private var output = ReusableBuffer(), gradInput = ReusableBuffer()
    private var batch = 0

    init(name: String, geometry: ConvGeometry, countPadding: Bool) {
        self.name = name
        self.geometry = geometry
        self.countPadding = countPadding
    }

    func forward(_ x: Activation, _ context: RunContext) -> Activation {
        batch = x.batch
        let planes = geometry.inChannels * x.batch
        let out = output.take(planes * geometry.outputPlane)
        Pooling.averageForward(geometry, planes: planes, input: x.pointer, output: out.pointer,
                               countPadding: countPadding, pool: context.pool)
        return Activation(shape: outputShape, batch: x.batch, buffer: out)
    }

    func backward(_ dy: Activation, _ context: RunContext, needsInputGradient: Bool) -> Activation? {
        guard needsInputGradient else { return nil }
        let planes = geometry.inChannels * batch
        let dx = gradInput.take(planes * geometry.inputPlane)
        Pooling.averageBackward(geometry, planes: planes, gradOutput: dy.pointer, gradInput: dx.pointer,
                                countPadding: countPadding, pool: context.pool)
        return Activation(shape: inputShape, batch: batch, buffer: dx)
    }

    func lower(into plan: inout InferencePlanBuilder, parameters: ParameterStore) {
        plan.append(.averagePool(geometry, countPadding: countPadding), output: outputShape)
    }
}
