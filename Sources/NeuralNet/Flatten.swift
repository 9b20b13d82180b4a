import Tensor

/// [C, N, H, W] → flat [N, C·H·W] with features ordered (c, h, w), as PyTorch's `flatten(1)` on NCHW.
final class Flatten: Layer {
    let name: String
    let inputShape: ActivationShape
    var outputShape: ActivationShape { .flat(inputShape.size) }
    private var output = ReusableBuffer(), gradInput = ReusableBuffer()

    init(name: String, shape: ActivationShape) {
        self.name = name
        inputShape = shape
    }

    func forward(_ x: Activation, _ context: RunContext) -> Activation {
        let out = output.take(x.count)
        Layout.swapLeadingAxes(x.pointer, outer: inputShape.channels, inner: x.batch, plane: inputShape.plane,
                               into: out.pointer)
        return Activation(shape: outputShape, batch: x.batch, buffer: out)
    }

    func backward(_ dy: Activation, _ context: RunContext, needsInputGradient: Bool) -> Activation? {
        guard needsInputGradient else { return nil }
        let dx = gradInput.take(dy.count)
        Layout.swapLeadingAxes(dy.pointer, outer: dy.batch, inner: inputShape.channels, plane: inputShape.plane,
                               into: dx.pointer)
        return Activation(shape: inputShape, batch: dy.batch, buffer: dx)
    }

    func lower(into plan: inout InferencePlanBuilder, parameters: ParameterStore) {
        plan.append(.flatten(channels: inputShape.channels, plane: inputShape.plane), output: outputShape)
    }
}
