import Tensor

/// Mean over each channel's H×W plane: [C, N, H, W] → flat [N, C]. This is where the spatial
/// stack ends and the embedding the head (and the feedback loop's cache) reads begins.
final class GlobalAvgPool: Layer {
    let name: String
    let inputShape: ActivationShape
    var outputShape: ActivationShape { .flat(inputShape.channels) }
    private var output = ReusableBuffer(), gradInput = ReusableBuffer()

    init(name: String, shape: ActivationShape) {
        self.name = name
        inputShape = shape
    }

    func forward(_ x: Activation, _ context: RunContext) -> Activation {
        let out = output.take(x.batch * inputShape.channels)
        Pooling.globalAverageForward(channels: inputShape.channels, batch: x.batch, plane: inputShape.plane,
                                     input: x.pointer, output: out.pointer)
        return Activation(shape: outputShape, batch: x.batch, buffer: out)
    }

    func backward(_ dy: Activation, _ context: RunContext, needsInputGradient: Bool) -> Activation? {
        guard needsInputGradient else { return nil }
        let dx = gradInput.take(dy.batch * inputShape.size)
        Pooling.globalAverageBackward(channels: inputShape.channels, batch: dy.batch, plane: inputShape.plane,
                                      gradOutput: dy.pointer, gradInput: dx.pointer)
        return Activation(shape: inputShape, batch: dy.batch, buffer: dx)
    }

    func lower(into plan: inout InferencePlanBuilder, parameters: ParameterStore) {
        plan.append(.globalAveragePool(channels: inputShape.channels, plane: inputShape.plane), output: outputShape)
    }
}
