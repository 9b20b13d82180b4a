import Foundation
import Tensor

/// Batch normalisation over the channels of a spatial activation.
///
/// input/output [C, N, H, W]: each channel is one contiguous run of M = N·H·W values, so the
/// statistics are single passes over contiguous memory. gamma, beta [C] are trained;
/// running_mean, running_var [C] are state, updated with PyTorch's momentum (0.1) and unbiased
/// variance, and used in evaluation (and when the layer is frozen). With `fuseReLU` it also applies
/// the ReLU after it: the forward writes max(y, 0) and the backward masks the gradient with y > 0 in
/// the same passes, so the activation is read and written once each way instead of twice.
final class BatchNorm2D: Layer {
    let name: String
    let inputShape: ActivationShape
    var outputShape: ActivationShape { inputShape }
    let gamma: ParameterSlot, beta: ParameterSlot
    let runningMean: ParameterSlot, runningVariance: ParameterSlot
    let epsilon: Float = 1e-5
    let momentum: Float = 0.1

    private var input: Activation?
    /// The output of the last forward, for the ReLU mask.
    private var result: Activation?
    private(set) var appliesReLU = false
    private var usedBatchStatistics = false
    private var output = ReusableBuffer(), gradInput = ReusableBuffer()
    /// Per-channel mean and 1/σ of the last forward (batch or running statistics).
    private var mean: [Float], inverseStd: [Float]

    init(name: String, shape: ActivationShape, registry: ParameterRegistry) {
        self.name = name
        inputShape = shape
        let c = shape.channels
        gamma = registry.parameter("\(name).weight", shape: [c], decays: false)
        beta = registry.parameter("\(name).bias", shape: [c], decays: false)
        runningMean = registry.state("\(name).running_mean", shape: [c])
        runningVariance = registry.state("\(name).running_var", shape: [c])
        mean = Array(repeating: 0, count: c)
        inverseStd = Array(repeating: 1, count: c)
    }

    /// Applies `relu`, the layer after this one, from now on; `relu` becomes an identity.
    func fuseReLU(_ relu: ReLU) {
        appliesReLU = true
        relu.absorbed = true
    }

    /// Sets gamma = 1, beta = 0, running mean 0, running variance 1.
    func resetParameters(_ p: ParameterStore) {
        p.value(gamma).update(repeating: 1, count: gamma.count)
        p.value(beta).update(repeating: 0, count: beta.count)
        p.stateValue(runningMean).update(repeating: 0, count: runningMean.count)
        p.stateValue(runningVariance).update(repeating: 1, count: runningVariance.count)
    }

    func forward(_ x: Activation, _ context: RunContext) -> Activation {
        input = x
        usedBatchStatistics = context.training
        let p = context.parameters, c = inputShape.channels, m = x.batch * inputShape.plane
        let out = output.take(x.count)
        let (g, b) = (p.value(gamma), p.value(beta))
        let (rm, rv) = (p.stateValue(runningMean), p.stateValue(runningVariance))
        let relu = appliesReLU
        mean.withUnsafeMutableBufferPointer { meanBuffer in
            inverseStd.withUnsafeMutableBufferPointer { invBuffer in
                let (meanOut, invOut) = (meanBuffer.baseAddress!, invBuffer.baseAddress!)
                context.pool.forEachRange(c) { _, channels in
                    for ch in channels {
                        let src = x.pointer + ch * m, dst = out.pointer + ch * m
                        var mu: Float, inv: Float
                        if usedBatchStatistics {
                            let (sum, squares) = Normalization.statistics(src, count: m)
                            let mean = sum / Double(m), variance = squares / Double(m)
                            mu = Float(mean)
                            inv = Float(1 / (variance + Double(epsilon)).squareRoot())
                            let unbiased = m > 1 ? Float(squares / Double(m - 1)) : Float(variance)
                            rm[ch] = (1 - momentum) * rm[ch] + momentum * mu
                            rv[ch] = (1 - momentum) * rv[ch] + momentum * unbiased
                        } else {
                            mu = rm[ch]
                            inv = 1 / (rv[ch] + epsilon).squareRoot()
                        }
                        meanOut[ch] = mu
                        invOut[ch] = inv
                        let scale = g[ch] * inv, shift = b[ch] - mu * scale
                        Normalization.apply(src, count: m, scale: scale, shift: shift, relu: relu, into: dst)
                    }
                }
            }
        }
        let y = Activation(shape: outputShape, batch: x.batch, buffer: out)
        result = y
        return y
    }

    func backward(_ dy: Activation, _ context: RunContext, needsInputGradient: Bool) -> Activation? {
        guard let x = input else { preconditionFailure("\(name): backward before forward") }
        let p = context.parameters, c = inputShape.channels, m = x.batch * inputShape.plane
        let (g, dg, db) = (p.value(gamma), p.gradient(gamma), p.gradient(beta))
        let dx = needsInputGradient ? gradInput.take(x.count) : nil
        let batchStats = usedBatchStatistics
        // With the ReLU fused, the incoming gradient is the ReLU's: mask it with y > 0 on the fly.
        let mask: UnsafePointer<Float>? = appliesReLU ? result.map { UnsafePointer($0.pointer) } : nil
        mean.withUnsafeBufferPointer { meanBuffer in
            inverseStd.withUnsafeBufferPointer { invBuffer in
                let (mu, invStd) = (meanBuffer.baseAddress!, invBuffer.baseAddress!)
                context.pool.forEachRange(c) { _, channels in
                    for ch in channels {
                        let src = x.pointer + ch * m, grad = dy.pointer + ch * m
                        let y = mask.map { $0 + ch * m }
                        let (mean, inv) = (mu[ch], invStd[ch])
                        let sums = Normalization.gradientSums(grad, src, mean: mean, mask: y, count: m)
                        let sumDy = Float(sums.sum), sumDyXhat = Float(sums.weighted) * inv
                        db[ch] += sumDy
                        dg[ch] += sumDyXhat
                        guard let dx else { continue }
                        let out = dx.pointer + ch * m
                        // Batch statistics: dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy·x̂)); running: γ/σ · dy.
                        let k = g[ch] * inv
                        let meanDy = batchStats ? sumDy / Float(m) : 0
                        let slope = batchStats ? inv * sumDyXhat / Float(m) : 0
                        Normalization.inputGradient(grad, src, mask: y, count: m, k: k, meanG: meanDy, mean: mean,
                                                    slope: slope, into: out)
                    }
                }
            }
        }
        return dx.map { Activation(shape: inputShape, batch: x.batch, buffer: $0) }
    }

    /// The per-channel affine map this layer applies at inference: y = scale·x + shift.
    func inferenceAffine(_ p: ParameterStore) -> (scale: [Float], shift: [Float]) {
        let c = inputShape.channels
        var scale = [Float](repeating: 0, count: c), shift = scale
        for ch in 0..<c {
            let inv = 1 / (p.stateValue(runningVariance)[ch] + epsilon).squareRoot()
            scale[ch] = p.value(gamma)[ch] * inv
            shift[ch] = p.value(beta)[ch] - p.stateValue(runningMean)[ch] * scale[ch]
        }
        return (scale, shift)
    }

    func lower(into plan: inout InferencePlanBuilder, parameters: ParameterStore) {
        plan.appendAffine(inferenceAffine(parameters), shape: inputShape)
    }
}
