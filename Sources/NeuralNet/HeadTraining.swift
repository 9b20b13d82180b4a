import Tensor

/// Head-only training on cached embeddings (the "bottleneck cache" trick): the backbone runs once
/// per image to produce its embedding, then each epoch trains only the final dense layer, which is
/// thousands of times cheaper than a full forward/backward.
extension Network {
    /// Freezes everything but the classifier head.
    public func freezeBackbone() { freeze(upTo: layerCount - 1) }

    /// Freezes all but the last `blocks` convolutional stages and the head. A stage starts at a
    /// convolution or residual block; the BatchNorm/ReLU/pooling after it belong to it.
    public func freezeAllBut(lastBlocks blocks: Int) {
        guard blocks > 0 else { freezeBackbone(); return }
        let starts = layers.indices.filter { layers[$0] is Conv2D || layers[$0] is ResidualBlock }
        guard blocks < starts.count else { freeze(upTo: 0); return }
        freeze(upTo: starts[starts.count - blocks])
    }

    /// One optimisation step of the head alone. embeddings [N, E] are the head's input (from
    /// `features`, i.e. the frozen backbone in evaluation mode); the head must be the only trainable
    /// layer (`freezeBackbone()`), so `optimizer` touches nothing else.
    @discardableResult
    public func headStep(
        embeddings: UnsafePointer<Float>, targets: [Target], weights: [Float]? = nil,
        optimizer: Optimizer, labelSmoothing: Float = 0
    ) -> ClassificationLoss.Result {
        precondition(frozenLayers == layerCount - 1, "headStep needs freezeBackbone() first")
        let n = targets.count, head = layers[layerCount - 1]
        let input = headInput.take(n * embeddingSize)
        input.pointer.update(from: embeddings, count: n * embeddingSize)
        context.training = true
        let logits = head.forward(Activation(shape: head.inputShape, batch: n, buffer: input), context)
        let grad = headGradient.take(n * classCount)
        let result = ClassificationLoss.evaluate(logits: logits.pointer, heads: spec.outputHeads, targets: targets,
                                                 weights: weights, labelSmoothing: labelSmoothing, gradient: grad.pointer)
        let offset = trainableParameterOffset
        (parameters.gradients.pointer + offset).update(repeating: 0, count: parameters.parameterCount - offset)
        _ = head.backward(Activation(shape: head.outputShape, batch: n, buffer: grad), context, needsInputGradient: false)
        optimizer.update(parameters, trainableOffset: offset)
        return result
    }

    /// Logits of the head alone for cached embeddings [N, E] → [N, classes] (valid until the next call).
    public func headLogits(embeddings: UnsafePointer<Float>, batch n: Int) -> UnsafeMutablePointer<Float> {
        let head = layers[layerCount - 1]
        let input = headInput.take(n * embeddingSize)
        input.pointer.update(from: embeddings, count: n * embeddingSize)
        context.training = false
        return head.forward(Activation(shape: head.inputShape, batch: n, buffer: input), context).pointer
    }
}
