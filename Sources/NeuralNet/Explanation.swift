import Tensor

/// Which parts of one layer's output drove one class's score for one image: Grad-CAM (Selvaraju
/// et al., 2017). With A the layer's activation [K, H, W] and y the class's logit,
/// αₖ = mean over the plane of ∂y/∂Aₖ and heat = ReLU(Σₖ αₖ·Aₖ), at the layer's resolution.
public struct ClassActivationMap: Sendable, Equatable {
    /// The layer the map is taken at ("layers.7").
    public var layer: String
    public var label: Int
    /// The class's logit and softmax probability for this image.
    public var score: Float
    public var probability: Float
    public var height: Int
    public var width: Int
    /// [height × width], row-major; not normalised (0 where no channel argues for the class).
    public var heat: [Float]
    /// αₖ, one per channel of the layer.
    public var channelWeights: [Float]
}

/// One layer's output for one image: [channels × height × width], channel-major.
public struct FeatureMaps: Sendable, Equatable {
    public var layer: String
    public var channels: Int
    public var height: Int
    public var width: Int
    public var values: [Float]

    /// Channels ordered by how strongly they responded (mean activation, highest first).
    public var channelsByMeanActivation: [Int] {
        let plane = height * width
        let means = (0..<channels).map { c in values[(c * plane)..<((c + 1) * plane)].reduce(0, +) / Float(max(plane, 1)) }
        return means.indices.sorted { means[$0] > means[$1] }
    }
}

/// A layer name or label an explanation cannot be taken at, worded for the person who asked.
public enum ExplanationError: Error, Equatable, CustomStringConvertible {
    case unknownLayer(String, spatial: [String])
    case noSpatialLayer
    case labelOutOfRange(Int, classes: Int)

    public var description: String {
        switch self {
        case .unknownLayer(let name, let spatial):
            "no layer \(name.count > 80 ? "'\(name.prefix(80))…' (\(name.utf8.count) bytes)" : "'\(name)'") has a spatial output; explainable layers: \(spatial.joined(separator: ", "))"
        case .noSpatialLayer:
            "the model has no layer with a spatial output to explain"
        case .labelOutOfRange(let label, let classes):
            "label index \(label) is out of range: the model has \(classes) classes"
        }
    }
}

extension Network {
    /// The top-level layers whose output is an image-shaped activation, in order: where a
    /// class-activation map or feature maps can be taken.
    public var spatialLayerNames: [String] {
        layers.filter { !$0.outputShape.isFlat }.map(\.name)
    }

    /// The index of the layer called `name`, or with nil the last spatial one (the end of the
    /// convolutional stack, where Grad-CAM is usually taken).
    public func explainableLayer(named name: String?) throws(ExplanationError) -> Int {
        let spatial = layers.indices.filter { !layers[$0].outputShape.isFlat }
        guard let last = spatial.last else { throw .noSpatialLayer }
        guard let name, !name.isEmpty else { return last }
        guard let index = spatial.first(where: { layers[$0].name == name }) else {
            throw .unknownLayer(name, spatial: spatialLayerNames)
        }
        return index
    }

    /// Layer `layer`'s output for one preprocessed image [C, H, W].
    public func featureMaps(image: UnsafePointer<Float>, layer: Int) -> FeatureMaps {
        let shape = layers[layer].outputShape
        let activation = forwardActivation(image, batch: 1, training: false, stopBefore: layer + 1)
        return FeatureMaps(layer: layers[layer].name, channels: shape.channels, height: shape.height, width: shape.width,
                           values: Array(UnsafeBufferPointer(start: activation.pointer, count: shape.size)))
    }

    /// Grad-CAM for class `label` at layer `layer` for one preprocessed image [C, H, W].
    public func classActivationMap(image: UnsafePointer<Float>, label: Int, layer: Int) throws(ExplanationError) -> ClassActivationMap {
        guard label >= 0, label < classCount else { throw .labelOutOfRange(label, classes: classCount) }
        let shape = layers[layer].outputShape
        let (activation, gradient, logits) = scoreGradient(image: image, label: label, layer: layer)
        let plane = shape.plane
        var weights = [Float](repeating: 0, count: shape.channels)
        var heat = [Float](repeating: 0, count: plane)
        for k in 0..<shape.channels {
            let g = gradient[(k * plane)..<((k + 1) * plane)]
            weights[k] = g.reduce(0, +) / Float(plane)
            for p in 0..<plane { heat[p] += weights[k] * activation[k * plane + p] }
        }
        for p in 0..<plane { heat[p] = max(0, heat[p]) }
        var probabilities = logits
        probabilities.withUnsafeMutableBufferPointer { Softmax.heads($0.baseAddress!, rows: 1, heads: spec.outputHeads) }
        return ClassActivationMap(layer: layers[layer].name, label: label, score: logits[label],
                                  probability: probabilities[label],
                                  height: shape.height, width: shape.width, heat: heat, channelWeights: weights)
    }

    /// Layer `layer`'s activation A [K, H, W], ∂logit[label]/∂A from the backward pass, and the
    /// logits, for one image (evaluation mode: BatchNorm on running statistics, no dropout).
    /// Parameter gradients accumulate as a side effect; a network used for explanations is not
    /// also being trained.
    func scoreGradient(image: UnsafePointer<Float>, label: Int, layer: Int) -> (activation: [Float], gradient: [Float], logits: [Float]) {
        let output = forwardActivation(image, batch: 1, training: false, stopBefore: layer + 1)
        let activation = Array(UnsafeBufferPointer(start: output.pointer, count: layers[layer].outputShape.size))
        let logits = forwardLayers(after: layer, from: output)
        var oneHot = [Float](repeating: 0, count: classCount)
        oneHot[label] = 1
        let buffer = gradientBuffer.take(classCount)
        buffer.pointer.update(from: oneHot, count: classCount)
        var g = Activation(shape: layers.last!.outputShape, batch: 1, buffer: buffer)
        for index in stride(from: layers.count - 1, through: layer + 1, by: -1) {
            g = layers[index].backward(g, context, needsInputGradient: true)!
        }
        return (activation, Array(UnsafeBufferPointer(start: g.pointer, count: activation.count)), logits)
    }

    /// The logits the layers after `layer` compute from `activation` (its output for one image):
    /// what finite differences perturb to check `scoreGradient`.
    func logits(after layer: Int, from activation: [Float]) -> [Float] {
        let buffer = headInput.take(activation.count)
        buffer.pointer.update(from: activation, count: activation.count)
        return forwardLayers(after: layer, from: Activation(shape: layers[layer].outputShape, batch: 1, buffer: buffer))
    }

    /// The logits the layers after `layer` compute from its output `activation` (one image, in
    /// evaluation mode); they keep what their backward pass needs.
    private func forwardLayers(after layer: Int, from activation: Activation) -> [Float] {
        var current = activation
        context.training = false
        for next in layers[(layer + 1)...] { current = next.forward(current, context) }
        return Array(UnsafeBufferPointer(start: current.pointer, count: classCount))
    }
}
