import Tensor

/// One optimisation step at a time: forward in training mode, loss, backward, update.
/// Owns the logits-gradient buffer so steps do not allocate.
public final class Trainer {
    public let network: Network
    public let optimizer: Optimizer
    public var labelSmoothing: Float
    private var gradient = ReusableBuffer()

    public init(network: Network, optimizer: OptimizerConfig, labelSmoothing: Float = 0) {
        self.network = network
        self.optimizer = Optimizer(config: optimizer, parameters: network.parameters)
        self.labelSmoothing = labelSmoothing
    }

    /// input [N, C, H, W] with one target (and optional weight) per image; a multi-head model's
    /// targets name labels of its whole label list and train their own head.
    @discardableResult
    public func step(_ input: UnsafePointer<Float>, targets: [Target], weights: [Float]? = nil) -> ClassificationLoss.Result {
        let n = targets.count, k = network.classCount
        let logits = network.forward(input, batch: n, training: true)
        return withGradient(count: n * k) { gradient in
            let result = ClassificationLoss.evaluate(logits: logits, heads: network.spec.outputHeads, targets: targets,
                                                     weights: weights, labelSmoothing: labelSmoothing, gradient: gradient)
            update(gradient)
            return result
        }
    }

    /// Lends the reusable logits-gradient buffer [count] to `body`.
    func withGradient<R>(count: Int, _ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        body(gradient.take(count).pointer)
    }

    /// Backpropagates d(loss)/d(logits) from the last forward and applies one optimizer step.
    func update(_ gradLogits: UnsafePointer<Float>) {
        let offset = network.trainableParameterOffset
        (network.parameters.gradients.pointer + offset).update(repeating: 0, count: network.parameters.parameterCount - offset)
        network.backward(gradLogits)
        optimizer.update(network.parameters, trainableOffset: offset)
    }
}
