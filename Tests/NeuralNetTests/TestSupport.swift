import Foundation
import Testing
@testable import NeuralNet
import Tensor

// MARK: - Deterministic data

/// Uniform values in `range`, reproducible from `seed`.
func uniformArray(_ count: Int, seed: UInt64, in range: ClosedRange<Float> = -1...1) -> [Float] {
    var rng = SeededGenerator(seed: seed)
    return (0..<count).map { _ in range.lowerBound + rng.nextUniform() * (range.upperBound - range.lowerBound) }
}

/// Uniform magnitudes in [low, high] with random signs: values bounded away from zero (ReLU kinks).
func awayFromZero(_ count: Int, seed: UInt64, low: Float = 0.1, high: Float = 1) -> [Float] {
    var rng = SeededGenerator(seed: seed)
    return (0..<count).map { _ in
        let magnitude = low + rng.nextUniform() * (high - low)
        return rng.nextUniform() < 0.5 ? -magnitude : magnitude
    }
}

/// Up to `limit` distinct indices of `0..<count` (all of them when count ≤ limit), sorted.
func sampleIndices(_ count: Int, limit: Int, seed: UInt64) -> [Int] {
    guard count > limit else { return Array(0..<count) }
    var rng = SeededGenerator(seed: seed)
    var all = Array(0..<count)
    all.shuffle(using: &rng)
    return all.prefix(limit).sorted()
}

func bitPatterns(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

func labels(_ count: Int) -> [String] { (0..<count).map { "class\($0)" } }

/// Largest |a−b| relative to the largest |b|.
func maxRelativeDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "length mismatch \(a.count) vs \(b.count)")
    var worst: Float = 0, scale: Float = 1e-12
    for i in a.indices {
        worst = max(worst, abs(a[i] - b[i]))
        scale = max(scale, abs(b[i]))
    }
    return worst / scale
}

func maxAbsoluteDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "length mismatch \(a.count) vs \(b.count)")
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

func softmaxRows(_ logits: [Float], columns: Int) -> [Float] {
    var out = [Float](repeating: 0, count: logits.count)
    for r in 0..<(logits.count / columns) {
        let row = logits[(r * columns)..<((r + 1) * columns)].map(Double.init)
        let peak = row.max()!
        let exps = row.map { Foundation.exp($0 - peak) }
        let sum = exps.reduce(0, +)
        for j in 0..<columns { out[r * columns + j] = Float(exps[j] / sum) }
    }
    return out
}

// MARK: - Gradient comparison

/// Analytic gradient `a` against a finite-difference estimate `n` over the checked entries.
///
/// The per-entry error is |aᵢ−nᵢ| / max(|aᵢ|, |nᵢ|, floor), where `floor` is 10% of the RMS of the
/// finite-difference gradient: entries of ordinary size are judged relative to themselves, entries
/// that are nearly zero (cancellations) relative to a tenth of the tensor's typical size, so float32
/// noise on a near-zero entry does not count as a 100% error. `worst` is the maximum over entries.
struct GradientComparison: CustomStringConvertible {
    var name: String
    var analytic: [Double]
    var numeric: [Double]
    /// Entries left out because the ± step crossed a ReLU kink (finite differences are meaningless there).
    var skipped = 0

    var count: Int { analytic.count }

    var floor: Double {
        guard !numeric.isEmpty else { return 1e-12 }
        let rms = (numeric.reduce(0) { $0 + $1 * $1 } / Double(numeric.count)).squareRoot()
        return max(0.1 * rms, 1e-9)
    }

    var worst: Double {
        let f = floor
        return zip(analytic, numeric).reduce(0) { w, pair in
            max(w, abs(pair.0 - pair.1) / max(abs(pair.0), abs(pair.1), f))
        }
    }

    /// ‖a−n‖₂ / max(‖a‖₂, ‖n‖₂).
    var normRelative: Double {
        var diff = 0.0, na = 0.0, nn = 0.0
        for (a, n) in zip(analytic, numeric) { diff += (a - n) * (a - n); na += a * a; nn += n * n }
        return diff.squareRoot() / max(na.squareRoot(), nn.squareRoot(), 1e-12)
    }

    /// The same comparison with the analytic side replaced (meta-checks).
    func withAnalytic(_ transform: ([Double]) -> [Double]) -> GradientComparison {
        GradientComparison(name: name, analytic: transform(analytic), numeric: numeric, skipped: skipped)
    }

    var description: String {
        let i = zip(analytic, numeric).enumerated().max { abs($0.element.0 - $0.element.1) < abs($1.element.0 - $1.element.1) }
        let detail = i.map { " worst-abs at #\($0.offset): analytic \($0.element.0) vs numeric \($0.element.1)" } ?? ""
        return "\(name): \(count) entries (\(skipped) skipped at kinks), worst rel err \(worst), norm rel err \(normRelative),\(detail)"
    }
}

// MARK: - Single-layer harness

/// One layer with its own parameter store and run context, driven the way `Network` drives it.
final class LayerHarness {
    let layer: any Layer
    let store: ParameterStore
    let context: RunContext
    let batch: Int

    init(batch: Int, threads: Int = 1, seed: UInt64 = 11, _ build: (ParameterRegistry) -> any Layer) {
        let registry = ParameterRegistry()
        layer = build(registry)
        store = ParameterStore(registry)
        context = RunContext(parameters: store, pool: ComputePool(threads: threads), seed: seed)
        self.batch = batch
    }

    var inputCount: Int { layer.inputShape.size * batch }
    var outputCount: Int { layer.outputShape.size * batch }

    /// Random parameters and state: weights ~ U(±1/√fan-in), 1-D `.weight` (BatchNorm γ) in
    /// [0.5, 1.5], biases in ±0.5, running means in ±0.5 and running variances in [0.5, 2].
    func randomizeParameters(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        func u(_ lo: Float, _ hi: Float) -> Float { lo + rng.nextUniform() * (hi - lo) }
        for entry in store.entries {
            let p = store.pointer(for: entry)
            for i in 0..<entry.slot.count {
                if entry.name.hasSuffix("running_mean") {
                    p[i] = u(-0.5, 0.5)
                } else if entry.name.hasSuffix("running_var") {
                    p[i] = u(0.5, 2)
                } else if entry.name.hasSuffix(".bias") {
                    p[i] = u(-0.5, 0.5)
                } else if entry.shape.count == 1 {
                    p[i] = u(0.5, 1.5)
                } else {
                    let fanIn = Float(entry.shape.dropFirst().reduce(1, *))
                    let bound = 1 / fanIn.squareRoot()
                    p[i] = u(-bound, bound)
                }
            }
        }
    }

    func forward(_ x: [Float], training: Bool, rngSeed: UInt64? = nil) -> [Float] {
        precondition(x.count == inputCount)
        context.training = training
        if let rngSeed { context.rng = SeededGenerator(seed: rngSeed) }
        let y = layer.forward(Activation(shape: layer.inputShape, batch: batch, buffer: FloatBuffer(x)), context)
        #expect(y.batch == batch && y.shape == layer.outputShape)
        return Array(UnsafeBufferPointer(start: y.pointer, count: outputCount))
    }

    /// L = Σ rᵢ·yᵢ accumulated in Double.
    func objective(_ x: [Float], _ r: [Float], training: Bool, rngSeed: UInt64?) -> Double {
        let y = forward(x, training: training, rngSeed: rngSeed)
        var sum = 0.0
        for i in y.indices { sum += Double(r[i]) * Double(y[i]) }
        return sum
    }

    /// dL/dx and dL/dθ (the whole parameter buffer) from the layer's backward pass.
    func analytic(_ x: [Float], _ r: [Float], training: Bool, rngSeed: UInt64?) -> (input: [Float], parameters: [Float]) {
        _ = forward(x, training: training, rngSeed: rngSeed)
        store.gradients.fill(0)
        let dy = Activation(shape: layer.outputShape, batch: batch, buffer: FloatBuffer(r))
        let dx = layer.backward(dy, context, needsInputGradient: true)
        guard let dx else {
            Issue.record("\(layer.name): backward returned no input gradient")
            return ([], store.gradients.array)
        }
        #expect(dx.batch == batch && dx.shape == layer.inputShape)
        return (Array(UnsafeBufferPointer(start: dx.pointer, count: inputCount)), store.gradients.array)
    }

    /// Central differences of L against the analytic gradients of the input and every parameter.
    /// Steps are taken in float32, and the actual step (x+h)−(x−h) after rounding is the divisor.
    ///
    /// With `kinks` (the ReLU sign pattern for an input, under the current parameters), an entry whose
    /// +h and −h evaluations see different patterns is retried with h/4 and h/16, and skipped when
    /// even those straddle a kink: finite differences across a kink measure nothing.
    func check(
        input x: [Float], training: Bool, rngSeed: UInt64? = nil, step h: Float,
        inputLimit: Int = 400, parameterLimit: Int = 150, seed: UInt64 = 5,
        kinks: (([Float]) -> [Bool])? = nil
    ) -> [GradientComparison] {
        let started = Date()
        defer {
            if ProcessInfo.processInfo.environment["GRADCHECK_VERBOSE"] != nil {
                print("GRADTIME \(layer.name) \(layer.inputShape) \(Date().timeIntervalSince(started))")
            }
        }
        let r = uniformArray(outputCount, seed: seed &+ 1000)
        let (gx, gp) = analytic(x, r, training: training, rngSeed: rngSeed)
        let steps: [Float] = kinks == nil ? [h] : [h, h / 4, h / 16]

        func difference(_ original: Float, _ set: (Float) -> Float, _ evaluate: () -> (Double, [Bool]?)) -> Double? {
            finiteDifference(at: original, steps: steps, piecewiseLinear: !training, set: set, evaluate: evaluate)
        }

        var results: [GradientComparison] = []
        var comparison = GradientComparison(name: "\(layer.name) input", analytic: [], numeric: [])
        var probe = x
        for i in sampleIndices(x.count, limit: inputLimit, seed: seed) {
            let estimate = difference(x[i], { v in probe[i] = v; return probe[i] }) {
                (objective(probe, r, training: training, rngSeed: rngSeed), kinks?(probe))
            }
            if let estimate {
                comparison.numeric.append(estimate)
                comparison.analytic.append(Double(gx[i]))
            } else {
                comparison.skipped += 1
            }
        }
        results.append(comparison)

        for entry in store.entries {
            guard case .parameter = entry.kind else { continue }
            comparison = GradientComparison(name: entry.name, analytic: [], numeric: [])
            let values = store.values.pointer
            for local in sampleIndices(entry.slot.count, limit: parameterLimit, seed: seed &+ UInt64(entry.slot.offset)) {
                let i = entry.slot.offset + local
                let estimate = difference(values[i], { v in values[i] = v; return values[i] }) {
                    (objective(x, r, training: training, rngSeed: rngSeed), kinks?(x))
                }
                if let estimate {
                    comparison.numeric.append(estimate)
                    comparison.analytic.append(Double(gp[i]))
                } else {
                    comparison.skipped += 1
                }
            }
            results.append(comparison)
        }
        return results
    }
}

/// The derivative of `evaluate` (objective and ReLU pattern) with respect to one value, by central
/// differences; `set(v)` installs a value and returns it as rounded to float32.
///
/// Central differences are only valid when x+h and x−h see the same ReLU pattern; the step is shrunk
/// until they do. When the function is piecewise linear (evaluation mode: BatchNorm is affine), a
/// one-sided difference inside the piece containing x is exact too, so that is tried last: one
/// activation sitting within float noise of zero then does not disqualify every upstream parameter.
func finiteDifference(at original: Float, steps: [Float], piecewiseLinear: Bool,
                      set: (Float) -> Float, evaluate: () -> (Double, [Bool]?)) -> Double? {
    for step in steps {
        let plus = set(original + step)
        let (fPlus, pPlus) = evaluate()
        let minus = set(original - step)
        let (fMinus, pMinus) = evaluate()
        _ = set(original)
        if pPlus == pMinus { return (fPlus - fMinus) / (Double(plus) - Double(minus)) }
    }
    guard piecewiseLinear else { return nil }
    let center = set(original)
    let (f0, p0) = evaluate()
    for step in steps {
        for sign: Float in [1, -1] {
            let moved = set(original + sign * step)
            let (f, p) = evaluate()
            _ = set(original)
            if p == p0 { return (f - f0) / (Double(moved) - Double(center)) }
        }
    }
    return nil
}

/// Asserts every comparison is within `tolerance` and that the check is not vacuous: every tensor
/// has checked entries with non-zero differences, and at most a quarter of all sampled entries were
/// skipped at ReLU kinks.
func expectGradientsMatch(_ results: [GradientComparison], tolerance: Double, sourceLocation: SourceLocation = #_sourceLocation) {
    for result in results {
        if ProcessInfo.processInfo.environment["GRADCHECK_VERBOSE"] != nil { print("GRADCHECK \(result)") }
        #expect(result.count > 0, "\(result.name): nothing was checked (\(result.skipped) skipped at kinks)",
                sourceLocation: sourceLocation)
        #expect(result.numeric.contains { $0 != 0 }, "\(result.name): finite differences are all zero — vacuous check",
                sourceLocation: sourceLocation)
        #expect(result.worst < tolerance, "\(result)", sourceLocation: sourceLocation)
    }
    let skipped = results.reduce(0) { $0 + $1.skipped }, checked = results.reduce(0) { $0 + $1.count }
    #expect(skipped * 4 <= skipped + checked, "too many entries at kinks: \(skipped) skipped, \(checked) checked",
            sourceLocation: sourceLocation)
}

// MARK: - Networks

/// A network whose BatchNorm layers are far from identity: random γ/β, and running statistics
/// either moved by a few training forwards on shifted inputs or set at random. Conv and dense biases
/// are random too (they start at zero, which would hide how folding treats them).
func preparedNetwork(_ spec: ModelSpec, seed: UInt64, threads: Int = 1, randomState: Bool) throws -> Network {
    let network = try Network(spec: spec, threads: threads, seed: seed)
    var rng = SeededGenerator(seed: seed &+ 99)
    func u(_ lo: Float, _ hi: Float) -> Float { lo + rng.nextUniform() * (hi - lo) }
    let bnPrefixes = network.parameters.entries.compactMap { entry -> String? in
        entry.name.hasSuffix(".running_mean") ? String(entry.name.dropLast(".running_mean".count)) : nil
    }
    for entry in network.parameters.entries where entry.name.hasSuffix(".bias") && !bnPrefixes.contains(String(entry.name.dropLast(5))) {
        let p = network.parameters.pointer(for: entry)
        for i in 0..<entry.slot.count { p[i] = u(-0.5, 0.5) }
    }
    for prefix in bnPrefixes {
        for (suffix, lo, hi) in [(".weight", Float(0.5), Float(1.5)), (".bias", Float(-0.5), Float(0.5))] {
            let entry = try #require(network.parameters.entry(named: prefix + suffix))
            let p = network.parameters.pointer(for: entry)
            for i in 0..<entry.slot.count { p[i] = u(lo, hi) }
        }
        if randomState {
            for (suffix, lo, hi) in [(".running_mean", Float(-1), Float(1)), (".running_var", Float(0.2), Float(3))] {
                let entry = try #require(network.parameters.entry(named: prefix + suffix))
                let p = network.parameters.pointer(for: entry)
                for i in 0..<entry.slot.count { p[i] = u(lo, hi) }
            }
        }
    }
    if !randomState {
        let shape = network.inputShape
        for step in 0..<3 {
            let x = uniformArray(4 * shape.size, seed: seed &+ UInt64(step), in: -0.5...1.5)
            _ = network.forward(x, batch: 4, training: true)
        }
    }
    return network
}

extension Network {
    /// Logits as an array (the returned pointer is only valid until the next forward).
    func logits(_ x: [Float], batch: Int, training: Bool = false) -> [Float] {
        Array(UnsafeBufferPointer(start: forward(x, batch: batch, training: training), count: batch * classCount))
    }

    func embedding(_ x: [Float], batch: Int) -> [Float] {
        Array(UnsafeBufferPointer(start: features(x, batch: batch), count: batch * embeddingSize))
    }

    func stateArray() -> [Float] { parameters.state.array }
    func valueArray() -> [Float] { parameters.values.array }
}

// MARK: - ReLU kinks

/// The sign pattern of every ReLU input (standalone ReLUs, a residual block's inner ReLU and its
/// final ReLU over main + shortcut) while running `layers` on `input` exactly as their forward does.
/// Finite differences are only valid when the pattern is the same at x+h and x−h.
func reluPattern(_ layers: [any Layer], input: Activation, context: RunContext,
                 training: (Int) -> Bool = { _ in false }) -> [Bool] {
    var bits: [Bool] = []
    var a = input
    for (index, layer) in layers.enumerated() {
        context.training = training(index)
        if layer is ReLU {
            bits += UnsafeBufferPointer(start: a.pointer, count: a.count).map { $0 > 0 }
        }
        if let block = layer as? ResidualBlock {
            let mainTraining = context.training
            var y = a
            for sub in block.main {
                if sub is ReLU { bits += UnsafeBufferPointer(start: y.pointer, count: y.count).map { $0 > 0 } }
                context.training = mainTraining
                y = sub.forward(y, context)
            }
            var s = a
            for sub in block.projection { s = sub.forward(s, context) }
            for i in 0..<y.count { bits.append(y.pointer[i] + s.pointer[i] > 0) }
        }
        a = layer.forward(a, context)
    }
    return bits
}
