import BLAS
import Foundation
import Tensor

/// An immutable, folded inference program for one model version.
///
/// Weights are read-only and shared by every thread; each concurrent caller brings its own
/// `InferenceSession` (activation buffers and kernel scratch), so serving many requests at once
/// needs no locks around the model.
public final class InferenceModel: @unchecked Sendable {
    public let spec: ModelSpec
    public let inputShape: ActivationShape
    let ops: [InferenceOp]
    let largestActivation: Int
    public let embeddingSize: Int
    /// Where each head's outputs sit in a row of probabilities.
    public let heads: [OutputHead]

    init(spec: ModelSpec, inputShape: ActivationShape, ops: [InferenceOp], largestActivation: Int, embeddingSize: Int) {
        self.spec = spec
        self.inputShape = inputShape
        self.ops = ops
        self.largestActivation = largestActivation
        self.embeddingSize = embeddingSize
        heads = spec.outputHeads
    }

    public var classCount: Int { spec.classCount }

    /// The final dense layer (weight [classes, E], bias [classes]), which turns an embedding into
    /// logits: stored embeddings are scored again with it after a head-only retrain, no image needed.
    public var head: (weight: [Float], bias: [Float])? {
        guard case .dense(let d)? = ops.last else { return nil }
        return (Array(UnsafeBufferPointer(start: d.weight.pointer, count: d.outputFeatures * d.inputFeatures)),
                Array(UnsafeBufferPointer(start: d.bias.pointer, count: d.outputFeatures)))
    }

    /// Each convolution's geometry and chosen algorithm, in execution order (benchmarks, logs).
    public var convolutions: [(geometry: ConvGeometry, algorithm: ConvolutionAlgorithm)] {
        func walk(_ ops: [InferenceOp]) -> [(ConvGeometry, ConvolutionAlgorithm)] {
            ops.flatMap { op -> [(ConvGeometry, ConvolutionAlgorithm)] in
                switch op {
                case .convolution(let c): [(c.geometry, c.algorithm)]
                case .residual(let main, let shortcut): walk(main) + walk(shortcut)
                default: []
                }
            }
        }
        return walk(ops)
    }

    /// A copy of this model with each convolution's algorithm chosen by timing both candidates at
    /// `batch` (cuDNN's "benchmark mode"): the faster path per layer shape wins. Shapes already in
    /// `cache` are not timed again, and the ones timed here are added to it.
    public func tuned(batch: Int, threads: Int, cache: ConvolutionTuningCache = ConvolutionTuningCache()) -> InferenceModel {
        lazy var pool = ComputePool(threads: threads)
        lazy var scratch = (0..<threads).map { _ in ScratchBuffer() }
        func tune(_ ops: [InferenceOp]) -> [InferenceOp] {
            ops.map { op in
                switch op {
                case .convolution(let conv) where ConvolutionAlgorithm.candidates(for: conv.geometry).count > 1:
                    if let known = cache.choice(for: conv.geometry, batch: batch, threads: threads) {
                        return .convolution(known == conv.algorithm ? conv : conv.choosing(known))
                    }
                    let candidates = ConvolutionAlgorithm.candidates(for: conv.geometry).map(conv.choosing)
                    let times = InferenceModel.time(candidates, batch: batch, pool: pool, scratch: scratch)
                    let best = candidates[times.indices.min { times[$0] < times[$1] }!]
                    cache.record(best.algorithm, for: conv.geometry, batch: batch, threads: threads)
                    return .convolution(best)
                case .residual(let main, let shortcut):
                    return .residual(main: tune(main), shortcut: tune(shortcut))
                default:
                    return op
                }
            }
        }
        return InferenceModel(spec: spec, inputShape: inputShape, ops: tune(ops),
                              largestActivation: largestActivation, embeddingSize: embeddingSize)
    }

    /// The fastest of four timed runs of each candidate (same shape), after one untimed run each
    /// (scratch growth, page faults). Rounds alternate between the candidates, so a burst of noise
    /// from a neighbour on a shared machine slows one run of each rather than every run of one:
    /// timed back to back, a 2× slower algorithm used to win a layer now and then.
    private static func time(_ candidates: [FusedConvolution], batch: Int, pool: ComputePool,
                             scratch: [ScratchBuffer]) -> [Double] {
        let g = candidates[0].geometry
        let input = FloatBuffer(count: g.inChannels * batch * g.inputPlane)
        let output = FloatBuffer(count: g.outChannels * batch * g.outputPlane)
        for i in 0..<input.count { input[i] = Float(i % 7) * 0.1 }
        for conv in candidates { conv.run(batch: batch, input: input.pointer, output: output.pointer, pool: pool, scratch: scratch) }
        var best = [Double](repeating: .infinity, count: candidates.count)
        for _ in 0..<4 {
            for (index, conv) in candidates.enumerated() {
                let start = DispatchTime.now().uptimeNanoseconds
                conv.run(batch: batch, input: input.pointer, output: output.pointer, pool: pool, scratch: scratch)
                best[index] = min(best[index], Double(DispatchTime.now().uptimeNanoseconds - start))
            }
        }
        return best
    }
}

/// Per-caller state for running an `InferenceModel`: activation buffers sized for the largest batch
/// seen so far and one scratch buffer per worker. Not thread-safe; make one per concurrent caller.
public final class InferenceSession {
    public let model: InferenceModel
    public let pool: ComputePool
    /// The CKernels vector width this session's convolutions run at (tests compare them).
    public let level: KernelLevel
    private let scratch: [ScratchBuffer]
    private var slots: [FloatBuffer] = []
    private var busy: [Bool] = []
    private var capacity = 0

    public init(model: InferenceModel, threads: Int, level: KernelLevel = .current) {
        self.model = model
        self.level = level
        pool = ComputePool(threads: threads)
        scratch = (0..<threads).map { _ in ScratchBuffer() }
    }

    /// input [N, C, H, W] → probabilities [N, classes] (a softmax per head) and, when given, the embedding
    /// [N, E] (the input of the final dense layer).
    public func run(
        _ input: UnsafePointer<Float>, batch: Int,
        probabilities: UnsafeMutablePointer<Float>,
        embeddings: UnsafeMutablePointer<Float>? = nil
    ) {
        logits(input, batch: batch, into: probabilities, embeddings: embeddings)
        Softmax.heads(probabilities, rows: batch, heads: model.heads)
    }

    /// Like `run` but leaves raw logits in `output`.
    public func logits(
        _ input: UnsafePointer<Float>, batch: Int,
        into output: UnsafeMutablePointer<Float>,
        embeddings: UnsafeMutablePointer<Float>? = nil
    ) {
        precondition(batch > 0, "inference needs a batch of at least one image")
        reserve(batch: batch)
        let shape = model.inputShape
        let x = acquire()
        Layout.swapLeadingAxes(input, outer: batch, inner: shape.channels, plane: shape.plane, into: slots[x].pointer)
        let result = execute(model.ops, input: x, batch: batch, embeddings: embeddings, isTopLevel: true)
        output.update(from: slots[result].pointer, count: batch * model.classCount)
        release(result)
        release(x)
    }

    private func reserve(batch: Int) {
        guard batch > capacity else { return }
        capacity = batch
        slots = slots.map { _ in FloatBuffer(count: model.largestActivation * batch) }
    }

    private func acquire() -> Int {
        if let free = busy.firstIndex(of: false) { busy[free] = true; return free }
        slots.append(FloatBuffer(count: model.largestActivation * capacity))
        busy.append(true)
        return slots.count - 1
    }

    private func release(_ slot: Int) { busy[slot] = false }

    /// Runs `ops` on the activation in slot `input` and returns the slot holding the result. The
    /// caller keeps ownership of `input` (it is never modified); every other slot this acquires is
    /// released except the returned one.
    private func execute(_ ops: [InferenceOp], input: Int, batch: Int,
                         embeddings: UnsafeMutablePointer<Float>?, isTopLevel: Bool) -> Int {
        var current = input
        for (index, op) in ops.enumerated() {
            switch op {
            case .relu(let size):
                if current == input { current = duplicate(input, batch: batch) }
                let p = slots[current].pointer
                pool.forEachRange(size * batch, granularity: 1024) { _, range in
                    for i in range { p[i] = max(p[i], 0) }
                }
                continue
            case .affine(let scale, let shift, let relu, let plane):
                if current == input { current = duplicate(input, batch: batch) }
                let p = slots[current].pointer
                for c in 0..<scale.count {
                    let run = p + c * batch * plane
                    for i in 0..<(batch * plane) {
                        let v = run[i] * scale[c] + shift[c]
                        run[i] = relu ? max(v, 0) : v
                    }
                }
                continue
            default:
                break
            }
            let source = slots[current].pointer
            let target = acquire()
            let destination = slots[target].pointer
            switch op {
            case .convolution(let conv):
                conv.run(batch: batch, input: source, output: destination, pool: pool, scratch: scratch, level: level)
            case .maxPool(let g):
                Pooling.maxForward(g, planes: g.inChannels * batch, input: source, output: destination,
                                   argmax: nil, pool: pool, level: level)
            case .averagePool(let g, let countPadding):
                Pooling.averageForward(g, planes: g.inChannels * batch, input: source, output: destination,
                                       countPadding: countPadding, pool: pool)
            case .globalAveragePool(let channels, let plane):
                Pooling.globalAverageForward(channels: channels, batch: batch, plane: plane, input: source, output: destination)
            case .flatten(let channels, let plane):
                Layout.swapLeadingAxes(source, outer: channels, inner: batch, plane: plane, into: destination)
            case .dense(let d):
                if isTopLevel && index == ops.count - 1, let embeddings {
                    embeddings.update(from: source, count: batch * d.inputFeatures)
                }
                Dense.apply(batch: batch, inputFeatures: d.inputFeatures, outputFeatures: d.outputFeatures,
                            input: source, weight: d.weight.pointer, bias: d.bias.pointer, output: destination)
            case .residual(let main, let shortcut):
                runResidual(main: main, shortcut: shortcut, input: current, output: target, batch: batch)
            case .relu, .affine:
                preconditionFailure("in-place ops are handled above")
            }
            if current != input { release(current) }
            current = target
        }
        return current
    }

    /// relu(main(x) + shortcut(x)), with the add and ReLU fused into main's last convolution.
    private func runResidual(main: [InferenceOp], shortcut: [InferenceOp], input: Int, output: Int, batch: Int) {
        guard case .convolution(let last)? = main.last else {
            preconditionFailure("a residual block's main path ends with a convolution")
        }
        let shortcutSlot = execute(shortcut, input: input, batch: batch, embeddings: nil, isTopLevel: false)
        let mid = execute(Array(main.dropLast()), input: input, batch: batch, embeddings: nil, isTopLevel: false)
        last.run(batch: batch, input: slots[mid].pointer, output: slots[output].pointer,
                 residual: slots[shortcutSlot].pointer, relu: true, pool: pool, scratch: scratch, level: level)
        if mid != input { release(mid) }
        if shortcutSlot != input { release(shortcutSlot) }
    }

    private func duplicate(_ slot: Int, batch: Int) -> Int {
        let copy = acquire()
        slots[copy].pointer.update(from: slots[slot].pointer, count: model.largestActivation * batch)
        return copy
    }
}

/// Numerically stable softmax over rows.
public enum Softmax {
    /// values [rows, columns], in place.
    public static func rows(_ values: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
        for r in 0..<rows {
            let row = values + r * columns
            var peak = -Float.infinity
            for j in 0..<columns { peak = max(peak, row[j]) }
            var sum: Float = 0
            for j in 0..<columns { row[j] = Foundation.exp(row[j] - peak); sum += row[j] }
            let inv = 1 / sum
            for j in 0..<columns { row[j] *= inv }
        }
    }
}
