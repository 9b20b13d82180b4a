import Foundation
import Tensor

/// A trainable network built from a `ModelSpec`: the layer stack, its flat parameter store, and
/// the forward/backward passes over NCHW input.
///
/// A network is used by one trainer at a time (layers keep activations between forward and
/// backward). Serving uses `InferenceModel`, an immutable folded snapshot taken from it.
public final class Network {
    public let spec: ModelSpec
    public let parameters: ParameterStore
    let layers: [Layer]
    let context: RunContext
    /// Layers `0..<frozenLayers` are frozen: run in evaluation mode, never updated, not backpropagated.
    public private(set) var frozenLayers = 0
    private var inputBuffer = ReusableBuffer()
    var gradientBuffer = ReusableBuffer()
    var headInput = ReusableBuffer()
    var headGradient = ReusableBuffer()
    private var lastBatch = 0

    /// Builds the network with He-initialised weights from `seed`.
    public init(spec: ModelSpec, threads: Int = 1, seed: UInt64 = 0) throws {
        self.spec = spec
        let registry = ParameterRegistry()
        layers = try Network.buildLayers(spec, registry: registry)
        parameters = ParameterStore(registry)
        context = RunContext(parameters: parameters, pool: ComputePool(threads: threads), seed: seed &+ 1)
        initializeParameters(seed: seed)
    }

    public var pool: ComputePool { context.pool }
    public var layerCount: Int { layers.count }
    public var inputShape: ActivationShape { .spatial(spec.input.channels, spec.input.height, spec.input.width) }
    /// Width of the embedding: the input of the final dense layer.
    public var embeddingSize: Int { layers.last!.inputShape.channels }
    public var classCount: Int { spec.classCount }

    /// Names of the top-level layers with their output shapes, for summaries.
    public var layerSummary: [(name: String, output: String)] { layers.map { ($0.name, $0.outputShape.description) } }

    static func buildLayers(_ spec: ModelSpec, registry: ParameterRegistry) throws -> [Layer] {
        let input = spec.input
        guard input.channels > 0, input.height > 0, input.width > 0 else {
            throw NetworkBuildError.invalidInput("channels, height and width must be positive, got \(input.channels)x\(input.height)x\(input.width)")
        }
        guard input.mean.count == input.channels, input.std.count == input.channels, input.std.allSatisfy({ $0 > 0 }) else {
            throw NetworkBuildError.invalidInput("mean and std need one entry per channel (\(input.channels)) and std must be positive")
        }
        if let heads = spec.heads {
            if let problem = HeadSpec.problem(with: heads) { throw NetworkBuildError.invalidInput(problem) }
            guard spec.labels == HeadSpec.qualifiedLabels(heads) else {
                throw NetworkBuildError.invalidInput("a multi-head spec's labels must be its heads' labels as head:label, in head order")
            }
        }
        guard !spec.labels.isEmpty else { throw NetworkBuildError.invalidInput("the model needs at least one class label") }
        var shape = ActivationShape.spatial(input.channels, input.height, input.width)
        var layers: [Layer] = []
        for (index, layerSpec) in spec.layers.enumerated() {
            let name = "layers.\(index)"
            func fail(_ reason: String) -> NetworkBuildError { .invalidLayer(index: index, reason: reason) }
            let layer: Layer
            switch layerSpec {
            case .conv(let out, let kernel, let stride, let padding, let bias):
                guard !shape.isFlat else { throw fail("conv needs a spatial input, got flat \(shape)") }
                guard out > 0, kernel > 0, stride > 0, padding >= 0 else { throw fail("conv needs positive out/kernel/stride and padding ≥ 0") }
                let g = ConvGeometry(inChannels: shape.channels, outChannels: out, height: shape.height, width: shape.width,
                                     kernel: kernel, stride: stride, padding: padding)
                layer = Conv2D(name: name, geometry: g, bias: bias, registry: registry)
            case .batchNorm:
                guard !shape.isFlat else { throw fail("batchNorm is implemented for spatial activations only") }
                layer = BatchNorm2D(name: name, shape: shape, registry: registry)
            case .relu:
                layer = ReLU(name: name, shape: shape)
            case .maxPool(let kernel, let stride, let padding):
                guard !shape.isFlat else { throw fail("maxPool needs a spatial input") }
                guard kernel > 0, stride > 0, padding >= 0, padding * 2 <= kernel else { throw fail("maxPool needs kernel, stride > 0 and padding ≤ kernel/2") }
                layer = MaxPool2D(name: name, geometry: ConvGeometry(
                    inChannels: shape.channels, outChannels: shape.channels, height: shape.height, width: shape.width,
                    kernel: kernel, stride: stride, padding: padding))
            case .avgPool(let kernel, let stride, let padding, let countPadding):
                guard !shape.isFlat else { throw fail("avgPool needs a spatial input") }
                guard kernel > 0, stride > 0, padding >= 0, padding * 2 <= kernel, kernel <= shape.height + 2 * padding,
                      kernel <= shape.width + 2 * padding else {
                    throw fail("avgPool needs kernel, stride > 0, padding ≤ kernel/2 and a window that fits the input")
                }
                layer = AvgPool2D(name: name, geometry: ConvGeometry(
                    inChannels: shape.channels, outChannels: shape.channels, height: shape.height, width: shape.width,
                    kernel: kernel, stride: stride, padding: padding), countPadding: countPadding)
            case .globalAvgPool:
                guard !shape.isFlat else { throw fail("globalAvgPool needs a spatial input") }
                layer = GlobalAvgPool(name: name, shape: shape)
            case .flatten:
                layer = shape.isFlat ? Dropout(name: name, shape: shape, rate: 0) : Flatten(name: name, shape: shape)
            case .dropout(let rate):
                guard rate >= 0, rate < 1 else { throw fail("dropout rate must be in [0, 1), got \(rate)") }
                layer = Dropout(name: name, shape: shape, rate: rate)
            case .dense(let out):
                guard shape.isFlat else { throw fail("dense needs a flat input: add globalAvgPool or flatten before it") }
                let outputs = out ?? spec.classCount
                guard outputs > 0 else { throw fail("dense needs a positive output count") }
                layer = Dense(name: name, inputFeatures: shape.channels, outputFeatures: outputs, registry: registry)
            case .residual(let out, let stride):
                guard !shape.isFlat else { throw fail("residual block needs a spatial input") }
                guard out > 0, stride > 0 else { throw fail("residual block needs positive out and stride") }
                layer = ResidualBlock(name: name, input: shape, outChannels: out, stride: stride, registry: registry)
            }
            shape = layer.outputShape
            guard shape.size > 0 else { throw NetworkBuildError.emptyOutput(index: index, shape: shape.description) }
            layers.append(layer)
        }
        guard let last = layers.last as? Dense, last.outputFeatures == spec.classCount else {
            throw NetworkBuildError.noClassifier
        }
        // A ReLU right after a BatchNorm is applied by the BatchNorm: one pass over the activation
        // each way instead of two (the ReLU layer stays in the list, as an identity).
        for (norm, relu) in zip(layers, layers.dropFirst()) {
            if let norm = norm as? BatchNorm2D, let relu = relu as? ReLU { norm.fuseReLU(relu) }
        }
        return layers
    }

    /// He (Kaiming) normal initialisation for conv and dense weights, zero biases, identity BatchNorm.
    public func initializeParameters(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        parameters.values.fill(0)
        for layer in allLayers {
            switch layer {
            case let conv as Conv2D:
                let std = (2 / Float(conv.geometry.patchSize)).squareRoot()
                let w = parameters.value(conv.weight)
                for i in 0..<conv.weight.count { w[i] = rng.nextNormal() * std }
            case let dense as Dense:
                let std = (1 / Float(dense.inputFeatures)).squareRoot()
                let w = parameters.value(dense.weight)
                for i in 0..<dense.weight.count { w[i] = rng.nextNormal() * std }
            case let bn as BatchNorm2D:
                bn.resetParameters(parameters)
            default:
                break
            }
        }
    }

    /// Every layer, with residual blocks expanded, in declaration order.
    var allLayers: [Layer] {
        layers.flatMap { layer -> [Layer] in
            if let block = layer as? ResidualBlock { return [block] + block.sublayers }
            return [layer]
        }
    }

    /// Freezes the first `count` top-level layers (clamped to leave the classifier trainable).
    /// `freeze(upTo: layerCount - 1)` is head-only training.
    public func freeze(upTo count: Int) {
        frozenLayers = max(0, min(count, layers.count - 1))
    }

    /// The first parameter index the optimizer may update: frozen layers own a prefix of the buffer.
    public var trainableParameterOffset: Int {
        let frozen = Set(layers.prefix(frozenLayers).map(\.name))
        var offset = 0
        for entry in parameters.entries {
            guard case .parameter = entry.kind else { continue }
            // Parameter names start with their top-level layer's name: "layers.4.conv1.weight".
            let owner = entry.name.split(separator: ".").prefix(2).joined(separator: ".")
            if frozen.contains(owner) { offset = max(offset, entry.slot.offset + entry.slot.count) }
        }
        return offset
    }

    /// input [N, C, H, W] → logits [N, classes], valid until the next forward.
    public func forward(_ input: UnsafePointer<Float>, batch: Int, training: Bool) -> UnsafeMutablePointer<Float> {
        forwardActivation(input, batch: batch, training: training, stopBefore: layers.count).pointer
    }

    /// Runs the first `stopBefore` layers and returns their output: with `layerCount - 1` this is the
    /// embedding [N, E] the head-only trainer caches.
    public func features(_ input: UnsafePointer<Float>, batch: Int) -> UnsafeMutablePointer<Float> {
        forwardActivation(input, batch: batch, training: false, stopBefore: layers.count - 1).pointer
    }

    func forwardActivation(_ input: UnsafePointer<Float>, batch: Int, training: Bool, stopBefore: Int) -> Activation {
        precondition(batch > 0, "forward needs a batch of at least one image")
        lastBatch = batch
        let shape = inputShape
        let x = inputBuffer.take(batch * shape.size)
        Layout.swapLeadingAxes(input, outer: batch, inner: shape.channels, plane: shape.plane, into: x.pointer)
        var activation = Activation(shape: shape, batch: batch, buffer: x)
        for (index, layer) in layers.prefix(stopBefore).enumerated() {
            context.training = training && index >= frozenLayers
            activation = layer.forward(activation, context)
        }
        context.training = training
        return activation
    }

    /// Backpropagates gradLogits [N, classes] from the last forward, accumulating into
    /// `parameters.gradients` (the caller zeroes them). Stops at the first trainable layer.
    /// With `inputGradient`, also writes the gradient with respect to the NCHW input (tests).
    public func backward(_ gradLogits: UnsafePointer<Float>, inputGradient: UnsafeMutablePointer<Float>? = nil) {
        let grad = gradientBuffer.take(lastBatch * classCount)
        grad.pointer.update(from: gradLogits, count: lastBatch * classCount)
        var g: Activation? = Activation(shape: layers.last!.outputShape, batch: lastBatch, buffer: grad)
        let stop = inputGradient == nil ? frozenLayers : 0
        for index in stride(from: layers.count - 1, through: stop, by: -1) {
            let needs = index > stop || inputGradient != nil
            g = layers[index].backward(g!, context, needsInputGradient: needs)
        }
        if let inputGradient, let g {
            let shape = inputShape
            Layout.swapLeadingAxes(g.pointer, outer: shape.channels, inner: lastBatch, plane: shape.plane, into: inputGradient)
        }
    }

    /// An immutable inference snapshot of the current weights (BatchNorm folded, ReLU fused).
    public func inferenceModel() -> InferenceModel {
        var builder = InferencePlanBuilder(input: inputShape)
        for layer in layers { layer.lower(into: &builder, parameters: parameters) }
        return InferenceModel(spec: spec, inputShape: inputShape, ops: InferencePlanBuilder.pack(builder.ops),
                              largestActivation: builder.largestActivation, embeddingSize: embeddingSize)
    }
}
