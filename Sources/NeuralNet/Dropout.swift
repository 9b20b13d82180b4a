import Tensor

/// Inverted dropout: in training each value is zeroed with probability `rate` and the survivors
/// scaled by 1/(1−rate), so evaluation is the identity. The mask comes from the run's seeded generator.
final class Dropout: Layer {
    let name: String
    let inputShape: ActivationShape
    var outputShape: ActivationShape { inputShape }
    let rate: Float
    private var mask: [Float] = []
    private var training = false
    private var output = ReusableBuffer(), gradInput = ReusableBuffer()

    init(name: String, shape: ActivationShape, rate: Float) {
        self.name = name
        inputShape = shape
        self.rate = rate
    }

    func forward(_ x: Activation, _ context: RunContext) -> Activation {
        training = context.training && rate > 0
        guard training else { return x }
        let out = output.take(x.count)
        if mask.count < x.count { mask = Array(repeating: 0, count: x.count) }
        let keep = 1 - rate, scale = 1 / keep
        for i in 0..<x.count {
            mask[i] = context.rng.nextUniform() < keep ? scale : 0
            out.pointer[i] = x.pointer[i] * mask[i]
        }
        return Activation(shape: outputShape, batch: x.batch, buffer: out)
    }

    func backward(_ dy: Activation, _ context: RunContext, needsInputGradient: Bool) -> Activation? {
        guard needsInputGradient else { return nil }
        guard training else { return dy }
        let dx = gradInput.take(dy.count)
        for i in 0..<dy.count { dx.pointer[i] = dy.pointer[i] * mask[i] }
        return Activation(shape: inputShape, batch: dy.batch, buffer: dx)
    }

    func lower(into plan: inout InferencePlanBuilder, parameters: ParameterStore) {}
}
