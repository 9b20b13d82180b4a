import Tensor

/// Max pooling with any window, stride and padding. input [C, N, H, W] → [C, N, OH, OW]; the
/// forward keeps each window's argmax so the backward pass routes gradients without searching.
final class MaxPool2D: Layer {
    let name: String
    let geometry: ConvGeometry
    var inputShape: ActivationShape { .spatial(geometry.inChannels, geometry.height, geometry.width) }
    var outputShape: ActivationShape { .spatial(geometry.inChannels, geometry.outHeight, geometry.outWidth) }
    private var output = ReusableBuffer(), gradInput = ReusableBuffer()
    private var argmax: [Int32] = []
    private var batch = 0

    init(name: String, geometry: ConvGeometry) {
        self.name = name
        self.geometry = geometry
    }

    func forward(_ x: Activation, _ context: RunContext) -> Activation {
        batch = x.batch
        let planes = geometry.inChannels * x.batch
        let out = output.take(planes * geometry.outputPlane)
        if argmax.count < planes * geometry.outputPlane { argmax = Array(repeating: -1, count: planes * geometry.outputPlane) }
        argmax.withUnsafeMutableBufferPointer { indices in
            Pooling.maxForward(geometry, planes: planes, input: x.pointer, output: out.pointer,
                               argmax: indices.baseAddress, pool: context.pool)
        }
        return Activation(shape: outputShape, batch: x.batch, buffer: out)
    }

    func backward(_ dy: Activation, _ context: RunContext, needsInputGradient: Bool) -> Activation? {
        guard needsInputGradient else { return nil }
        let planes = geometry.inChannels * batch
        let dx = gradInput.take(planes * geometry.inputPlane)
        argmax.withUnsafeBufferPointer { indices in
            Pooling.maxBackward(geometry, planes: planes, gradOutput: dy.pointer, argmax: indices.baseAddress!,
                                gradInput: dx.pointer, pool: context.pool)
        }
        return Activation(shape: inputShape, batch: batch, buffer: dx)
    }

    func lower(into plan: inout InferencePlanBuilder, parameters: ParameterStore) {
        plan.append(.maxPool(geometry), output: outputShape)
    }
}
