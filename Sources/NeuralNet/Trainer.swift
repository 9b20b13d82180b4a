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

    /// input [N, C, H, W] with one target (and optional weight) per image.
    @discardableResult
    public func step(_ input: UnsafePointer<Float>, targets: [Target], weights: [Float]? = nil) -> ClassificationLoss.Result {
        let n = targets.count, k = network.classCount
        let logits = network.forward(input, batch: n, training: true)
        let grad = gradient.take(n * k)
        let result = ClassificationLoss.evaluate(logits: logits, classes: k, targets: targets, weights: weights,
                                                 labelSmoothing: labelSmoothing, gradient: grad.pointer)
        let offset = network.trainableParameterOffset
        (network.parameters.gradients.pointer + offset).update(repeating: 0, count: network.parameters.parameterCount - offset)
        network.backward(grad.pointer)
        optimizer.update(network.parameters, trainableOffset: offset)
        return result
    }
}
