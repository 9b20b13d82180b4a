import Tensor

/// What a layer needs while running: the parameters, the worker pool and its scratch, and whether
/// this is a training step (batch statistics, dropout) or evaluation.
public final class RunContext {
    public let parameters: ParameterStore
    public let pool: ComputePool
    let scratch: [ScratchBuffer]
    let partials: [ScratchBuffer]
    var training: Bool
    var rng: SeededGenerator

    init(parameters: ParameterStore, pool: ComputePool, seed: UInt64) {
        self.parameters = parameters
        self.pool = pool
        scratch = (0..<pool.threads).map { _ in ScratchBuffer() }
        partials = (0..<pool.threads).map { _ in ScratchBuffer() }
        training = false
        rng = SeededGenerator(seed: seed)
    }
}

/// A differentiable layer over a whole batch.
///
/// `forward` keeps what `backward` needs (its input or output, masks, batch statistics) until the
/// next forward. `backward` accumulates parameter gradients into the store and returns the input
/// gradient, or nothing when `needsInputGradient` is false (the first trainable layer skips that work).
protocol Layer: AnyObject {
    var name: String { get }
    var inputShape: ActivationShape { get }
    var outputShape: ActivationShape { get }
    func forward(_ input: Activation, _ context: RunContext) -> Activation
    func backward(_ gradOutput: Activation, _ context: RunContext, needsInputGradient: Bool) -> Activation?
    /// Appends this layer's inference form; `next` lets a convolution absorb the BatchNorm/ReLU after it.
    func lower(into plan: inout InferencePlanBuilder, parameters: ParameterStore)
}

/// Errors raised while building a network from a spec.
public enum NetworkBuildError: Error, CustomStringConvertible, Equatable {
    case invalidLayer(index: Int, reason: String)
    case emptyOutput(index: Int, shape: String)
    case noClassifier
    case invalidInput(String)

    public var description: String {
        switch self {
        case .invalidLayer(let index, let reason): "model spec layer \(index): \(reason)"
        case .emptyOutput(let index, let shape): "model spec layer \(index) produces an empty activation \(shape): the input is too small for this many downsampling layers"
        case .noClassifier: "model spec must end with a dense layer producing one output per class label"
        case .invalidInput(let reason): "model spec input: \(reason)"
        }
    }
}
