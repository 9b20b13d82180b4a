import Tensor

/// max(x, 0), elementwise over any layout. Backward uses the output: dx = dy where y > 0.
/// After a BatchNorm the BatchNorm applies it (`BatchNorm2D.fuseReLU`) and this layer passes its
/// input and gradient through unchanged.
final class ReLU: Layer {
    let name: String
    let inputShape: ActivationShape
    var outputShape: ActivationShape { inputShape }
    /// The layer before applies the ReLU, forward and backward.
    var absorbed = false
    private var output = ReusableBuffer(), gradInput = ReusableBuffer()
    private var result: Activation?

    init(name: String, shape: ActivationShape) {
        self.name = name
        inputShape = shape
    }

    func forward(_ x: Activation, _ context: RunContext) -> Activation {
        if absorbed { return x }
        let out = output.take(x.count)
        let (src, dst) = (x.pointer, out.pointer)
        context.pool.forEachRange(x.count, granularity: 1024) { _, range in
            Elementwise.relu(src + range.lowerBound, into: dst + range.lowerBound, count: range.count)
        }
        let y = Activation(shape: outputShape, batch: x.batch, buffer: out)
        result = y
        return y
    }

    func backward(_ dy: Activation, _ context: RunContext, needsInputGradient: Bool) -> Activation? {
        guard needsInputGradient else { return nil }
        if absorbed { return dy }
        guard let y = result else { preconditionFailure("\(name): backward before forward") }
        let dx = gradInput.take(y.count)
        let (out, grad, dst) = (y.pointer, dy.pointer, dx.pointer)
        context.pool.forEachRange(y.count, granularity: 1024) { _, range in
            let lo = range.lowerBound
            Elementwise.reluBackward(output: out + lo, gradOutput: grad + lo, into: dst + lo, count: range.count)
        }
        return Activation(shape: inputShape, batch: y.batch, buffer: dx)
    }

    func lower(into plan: inout InferencePlanBuilder, parameters: ParameterStore) {
        plan.appendReLU()
    }
}
