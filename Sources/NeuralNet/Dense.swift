import BLAS
import Tensor

/// Fully connected layer. input [N, I]; weight [O, I]; bias [O]; output [N, O] = x·Wᵀ + b.
final class Dense: Layer {
    let name: String
    let inputShape: ActivationShape
    let outputShape: ActivationShape
    let weight: ParameterSlot, bias: ParameterSlot
    private var input: Activation?
    private var output = ReusableBuffer(), gradInput = ReusableBuffer()

    init(name: String, inputFeatures: Int, outputFeatures: Int, registry: ParameterRegistry) {
        self.name = name
        inputShape = .flat(inputFeatures)
        outputShape = .flat(outputFeatures)
        weight = registry.parameter("\(name).weight", shape: [outputFeatures, inputFeatures], decays: true)
        bias = registry.parameter("\(name).bias", shape: [outputFeatures], decays: false)
    }

    var inputFeatures: Int { inputShape.channels }
    var outputFeatures: Int { outputShape.channels }

    func forward(_ x: Activation, _ context: RunContext) -> Activation {
        input = x
        let p = context.parameters, n = x.batch
        let out = output.take(n * outputFeatures)
        Dense.apply(batch: n, inputFeatures: inputFeatures, outputFeatures: outputFeatures,
                    input: x.pointer, weight: p.value(weight), bias: p.value(bias), output: out.pointer)
        return Activation(shape: outputShape, batch: n, buffer: out)
    }

    /// input [N, I]; weight [O, I]; bias [O] → output [N, O].
    static func apply(
        batch n: Int, inputFeatures i: Int, outputFeatures o: Int,
        input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>
    ) {
        for row in 0..<n { (output + row * o).update(from: bias, count: o) }
        if n == 1 {
            // One image: y = W·x + b as a GEMV, which streams W once instead of packing it.
            BLAS.sgemv(m: o, n: i, a: weight, lda: i, x: input, beta: 1, y: output)
            return
        }
        BLAS.sgemm(transB: true, m: n, n: o, k: i, a: input, lda: i, b: weight, ldb: i, beta: 1, c: output, ldc: o)
    }

    func backward(_ dy: Activation, _ context: RunContext, needsInputGradient: Bool) -> Activation? {
        guard let x = input else { preconditionFailure("\(name): backward before forward") }
        let p = context.parameters, n = x.batch, (i, o) = (inputFeatures, outputFeatures)
        // dW[O, I] += dyᵀ·x ; db[O] += Σₙ dy
        BLAS.sgemm(transA: true, m: o, n: i, k: n, a: dy.pointer, lda: o, b: x.pointer, ldb: i,
                   beta: 1, c: p.gradient(weight), ldc: i)
        let db = p.gradient(bias)
        for row in 0..<n {
            let g = dy.pointer + row * o
            for j in 0..<o { db[j] += g[j] }
        }
        guard needsInputGradient else { return nil }
        // dx[N, I] = dy·W
        let dx = gradInput.take(n * i)
        BLAS.sgemm(m: n, n: i, k: o, a: dy.pointer, lda: o, b: p.value(weight), ldb: i, c: dx.pointer, ldc: i)
        return Activation(shape: inputShape, batch: n, buffer: dx)
    }

    func lower(into plan: inout InferencePlanBuilder, parameters: ParameterStore) {
        let w = FloatBuffer(count: weight.count), b = FloatBuffer(count: bias.count)
        w.pointer.update(from: parameters.value(weight), count: weight.count)
        b.pointer.update(from: parameters.value(bias), count: bias.count)
        plan.append(.dense(DenseWeights(inputFeatures: inputFeatures, outputFeatures: outputFeatures, weight: w, bias: b)),
                    output: outputShape)
    }
}
