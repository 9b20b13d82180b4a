import Tensor

/// ResNet basic block: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)).
///
/// conv1 is 3×3 with the block's stride, conv2 3×3 stride 1, both without bias. The shortcut is the
/// identity when shape is kept and a projection (1×1 conv with the stride, then BatchNorm)
/// otherwise, as in He et al. 2016 ("option B").
final class ResidualBlock: Layer {
    let name: String
    let inputShape: ActivationShape
    let outputShape: ActivationShape
    let main: [Layer]
    let projection: [Layer]
    private var output = ReusableBuffer(), gradInput = ReusableBuffer()
    private var sum: Activation?

    init(name: String, input: ActivationShape, outChannels: Int, stride: Int, registry: ParameterRegistry) {
        self.name = name
        inputShape = input
        let g1 = ConvGeometry(inChannels: input.channels, outChannels: outChannels, height: input.height,
                              width: input.width, kernel: 3, stride: stride, padding: 1)
        let mid = ActivationShape.spatial(outChannels, g1.outHeight, g1.outWidth)
        let g2 = ConvGeometry(inChannels: outChannels, outChannels: outChannels, height: mid.height,
                              width: mid.width, kernel: 3, stride: 1, padding: 1)
        outputShape = mid
        // Created in network order: parameters are registered, and laid out, as layers are made.
        let conv1 = Conv2D(name: "\(name).conv1", geometry: g1, bias: false, registry: registry)
        let bn1 = BatchNorm2D(name: "\(name).bn1", shape: mid, registry: registry)
        let relu1 = ReLU(name: "\(name).relu1", shape: mid)
        bn1.fuseReLU(relu1)
        main = [
            conv1,
            bn1,
            relu1,
            Conv2D(name: "\(name).conv2", geometry: g2, bias: false, registry: registry),
            BatchNorm2D(name: "\(name).bn2", shape: mid, registry: registry),
        ]
        if stride != 1 || input.channels != outChannels {
            let gp = ConvGeometry(inChannels: input.channels, outChannels: outChannels, height: input.height,
                                  width: input.width, kernel: 1, stride: stride, padding: 0)
            projection = [
                Conv2D(name: "\(name).shortcut.conv", geometry: gp, bias: false, registry: registry),
                BatchNorm2D(name: "\(name).shortcut.bn", shape: mid, registry: registry),
            ]
        } else {
            projection = []
        }
    }

    var sublayers: [Layer] { main + projection }

    func forward(_ x: Activation, _ context: RunContext) -> Activation {
        var y = x
        for layer in main { y = layer.forward(y, context) }
        var s = x
        for layer in projection { s = layer.forward(s, context) }
        let out = output.take(y.count)
        let (a, b, dst) = (y.pointer, s.pointer, out.pointer)
        context.pool.forEachRange(y.count, granularity: 1024) { _, range in
            for i in range { dst[i] = max(a[i] + b[i], 0) }
        }
        let result = Activation(shape: outputShape, batch: x.batch, buffer: out)
        sum = result
        return result
    }

    func backward(_ dy: Activation, _ context: RunContext, needsInputGradient: Bool) -> Activation? {
        guard let y = sum else { preconditionFailure("\(name): backward before forward") }
        // Through the final ReLU: both branches receive the same gradient.
        let dsum = gradInput.take(y.count)
        Elementwise.reluBackward(output: y.pointer, gradOutput: dy.pointer, into: dsum.pointer, count: y.count)
        let g = Activation(shape: outputShape, batch: y.batch, buffer: dsum)
        var dMain: Activation? = g
        for (index, layer) in main.enumerated().reversed() {
            dMain = layer.backward(dMain!, context, needsInputGradient: needsInputGradient || index > 0)
        }
        var dShort: Activation? = g
        for (index, layer) in projection.enumerated().reversed() {
            dShort = layer.backward(dShort!, context, needsInputGradient: needsInputGradient || index > 0)
        }
        guard needsInputGradient, let dMain, let dShort else { return nil }
        // dMain is owned by conv1; adding the shortcut gradient into it is safe until the next step.
        for i in 0..<dMain.count { dMain.pointer[i] += dShort.pointer[i] }
        return dMain
    }

    func lower(into plan: inout InferencePlanBuilder, parameters: ParameterStore) {
        var mainPlan = InferencePlanBuilder(input: inputShape)
        for layer in main { layer.lower(into: &mainPlan, parameters: parameters) }
        var shortcutPlan = InferencePlanBuilder(input: inputShape)
        for layer in projection { layer.lower(into: &shortcutPlan, parameters: parameters) }
        plan.appendResidual(main: mainPlan.ops, shortcut: shortcutPlan.ops, output: outputShape)
    }
}
