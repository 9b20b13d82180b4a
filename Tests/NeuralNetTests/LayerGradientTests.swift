import Foundation
import Testing
@testable import NeuralNet
import Tensor

/// Finite-difference checks of every layer's backward pass, input and parameter gradients.
///
/// Objective L = Σ rᵢ·yᵢ with fixed random r, so every output contributes. Forward passes are float32,
/// L is accumulated in Double and derivatives are central differences. For the layers that are linear
/// in the perturbed quantity (conv, dense, pooling, BatchNorm in eval mode) a central difference has no
/// truncation error, and the only error is float32 rounding in the outputs that the perturbation
/// touches (~1e-6 relative), so the 1e-2 per-entry tolerance below has ≥100× margin; a wrong
/// gradient is off by O(1) in some entries (the meta-checks show a 10% error is already caught).
@Suite struct LayerGradientTests {
    static let tolerance = 1e-2

    struct ConvCase: Sendable, CustomTestStringConvertible {
        var inChannels, outChannels, height, width, kernel, stride, padding: Int
        var bias: Bool
        var threads: Int
        var testDescription: String {
            "\(inChannels)->\(outChannels) \(kernel)x\(kernel)/s\(stride)p\(padding) @\(height)x\(width) bias:\(bias) threads:\(threads)"
        }
        var geometry: ConvGeometry {
            ConvGeometry(inChannels: inChannels, outChannels: outChannels, height: height, width: width,
                         kernel: kernel, stride: stride, padding: padding)
        }
    }

    static let convCases: [ConvCase] = [
        // Winograd forward, Winograd weight gradient and Winograd adjoint data gradient (≥16 channels,
        // same 3×3), odd sizes for partial tiles.
        ConvCase(inChannels: 16, outChannels: 16, height: 5, width: 7, kernel: 3, stride: 1, padding: 1, bias: true, threads: 1),
        ConvCase(inChannels: 16, outChannels: 20, height: 6, width: 3, kernel: 3, stride: 1, padding: 1, bias: false, threads: 2),
        // 20 input channels round up to 24 in panels of 6, 16 output channels to 18: the adjoint's
        // packed weights (36·24·16) outgrow the forward's (36·18·20), so the data gradient's scratch
        // must be sized for the adjoint.
        ConvCase(inChannels: 20, outChannels: 16, height: 5, width: 6, kernel: 3, stride: 1, padding: 1, bias: false, threads: 2),
        // The same geometry with few channels stays on im2col + col2im.
        ConvCase(inChannels: 3, outChannels: 4, height: 6, width: 5, kernel: 3, stride: 1, padding: 1, bias: false, threads: 1),
        ConvCase(inChannels: 3, outChannels: 5, height: 7, width: 8, kernel: 3, stride: 2, padding: 1, bias: true, threads: 1),
        ConvCase(inChannels: 3, outChannels: 5, height: 7, width: 8, kernel: 3, stride: 2, padding: 1, bias: false, threads: 2),
        // Pointwise (no im2col) and the strided 1×1 projection shortcut.
        ConvCase(inChannels: 4, outChannels: 6, height: 5, width: 4, kernel: 1, stride: 1, padding: 0, bias: true, threads: 1),
        ConvCase(inChannels: 4, outChannels: 6, height: 5, width: 4, kernel: 1, stride: 1, padding: 0, bias: false, threads: 2),
        ConvCase(inChannels: 4, outChannels: 3, height: 7, width: 6, kernel: 1, stride: 2, padding: 0, bias: false, threads: 1),
        // The ResNet stem shape.
        ConvCase(inChannels: 3, outChannels: 4, height: 11, width: 9, kernel: 7, stride: 2, padding: 3, bias: false, threads: 1),
        ConvCase(inChannels: 2, outChannels: 3, height: 11, width: 9, kernel: 7, stride: 2, padding: 3, bias: true, threads: 2),
        // Unpadded and an even kernel with stride > kernel.
        ConvCase(inChannels: 2, outChannels: 3, height: 6, width: 7, kernel: 5, stride: 1, padding: 0, bias: true, threads: 1),
        ConvCase(inChannels: 3, outChannels: 2, height: 8, width: 7, kernel: 2, stride: 3, padding: 1, bias: true, threads: 1),
    ]

    static func convHarness(_ c: ConvCase, batch: Int = 2) -> LayerHarness {
        let h = LayerHarness(batch: batch, threads: c.threads) { registry in
            Conv2D(name: "conv", geometry: c.geometry, bias: c.bias, registry: registry)
        }
        h.randomizeParameters(seed: 3)
        return h
    }

    @Test(arguments: convCases)
    func conv2D(_ c: ConvCase) throws {
        let h = Self.convHarness(c)
        let conv = try #require(h.layer as? Conv2D)
        // The wide same-3×3 cases must really take the Winograd paths (forward and backward).
        let wideSame3x3 = c.kernel == 3 && c.stride == 1 && c.padding == 1 && c.inChannels >= 16 && c.outChannels >= 16
        #expect((conv.algorithm != .im2col) == wideSame3x3, "\(conv.algorithm)")
        #expect(h.store.entries.map(\.name) == (c.bias ? ["conv.weight", "conv.bias"] : ["conv.weight"]))
        let x = uniformArray(h.inputCount, seed: 1)
        // Convolution is linear in both input and weights: a large step costs no truncation error.
        // Winograd is slow in a debug build: fewer sampled entries for the wide layers.
        let (inputs, weights) = c.inChannels >= 16 ? (64, 64) : (150, 120)
        let results = h.check(input: x, training: true, step: 0.05, inputLimit: inputs, parameterLimit: weights)
        expectGradientsMatch(results, tolerance: Self.tolerance)
    }

    /// The layer forward agrees with the direct-loop reference convolution (so the gradient checks
    /// are checking the gradient of the right function), including the NCHW-free internal layout.
    @Test(arguments: convCases)
    func conv2DForwardMatchesReference(_ c: ConvCase) {
        let h = Self.convHarness(c, batch: 3)
        let x = uniformArray(h.inputCount, seed: 2)
        let y = h.forward(x, training: false)
        let weight = Array(h.store.values.array[0..<(c.outChannels * c.geometry.patchSize)])
        let bias = c.bias ? Array(h.store.values.array[weight.count...]) : [Float](repeating: 0, count: c.outChannels)
        let expected = ConvolutionReference.forward(c.geometry, batch: 3, input: x, weight: weight, bias: bias)
        #expect(maxRelativeDifference(y, expected) < 1e-5)
    }

    /// Parameter gradients accumulate (the network zeroes them once per step), and skipping the input
    /// gradient does not change them.
    @Test(arguments: [convCases[0], convCases[4], convCases[6]])
    func conv2DGradientsAccumulate(_ c: ConvCase) {
        let h = Self.convHarness(c)
        let x = uniformArray(h.inputCount, seed: 4), r = uniformArray(h.outputCount, seed: 5)
        let once = h.analytic(x, r, training: true, rngSeed: nil).parameters
        let dy = Activation(shape: h.layer.outputShape, batch: h.batch, buffer: FloatBuffer(r))
        #expect(h.layer.backward(dy, h.context, needsInputGradient: false) == nil)
        let twice = h.store.gradients.array
        #expect(maxRelativeDifference(twice, once.map { 2 * $0 }) < 1e-6)
    }

    // MARK: BatchNorm

    struct NormCase: Sendable, CustomTestStringConvertible {
        var channels, height, width, batch: Int
        var training: Bool
        var threads: Int
        var testDescription: String { "C\(channels) \(height)x\(width) N\(batch) training:\(training) threads:\(threads)" }
    }

    static let normCases: [NormCase] = [
        NormCase(channels: 3, height: 4, width: 5, batch: 2, training: true, threads: 1),
        NormCase(channels: 5, height: 3, width: 3, batch: 3, training: true, threads: 2),
        NormCase(channels: 2, height: 1, width: 1, batch: 4, training: true, threads: 1),
        NormCase(channels: 3, height: 4, width: 5, batch: 2, training: false, threads: 1),
        NormCase(channels: 4, height: 2, width: 3, batch: 2, training: false, threads: 2),
    ]

    static func normHarness(_ c: NormCase) -> LayerHarness {
        let h = LayerHarness(batch: c.batch, threads: c.threads) { registry in
            BatchNorm2D(name: "bn", shape: .spatial(c.channels, c.height, c.width), registry: registry)
        }
        h.randomizeParameters(seed: 8)
        return h
    }

    @Test(arguments: normCases)
    func batchNorm(_ c: NormCase) {
        let h = Self.normHarness(c)
        // Inputs with a per-channel offset and scale, as real activations have.
        var x = uniformArray(h.inputCount, seed: 9)
        let m = c.batch * c.height * c.width
        for ch in 0..<c.channels { for i in 0..<m { x[ch * m + i] = x[ch * m + i] * Float(ch + 1) + Float(ch) * 0.5 } }
        // Batch-statistics normalisation is non-linear: a small step keeps truncation error ~h².
        let results = h.check(input: x, training: c.training, step: c.training ? 4e-3 : 0.05)
        expectGradientsMatch(results, tolerance: Self.tolerance)
    }

    /// Forward semantics: batch statistics normalise each channel to mean β, std γ (biased variance),
    /// running statistics move with momentum 0.1 towards the unbiased variance; eval uses them.
    @Test func batchNormForwardAndRunningStatistics() throws {
        let c = NormCase(channels: 3, height: 2, width: 3, batch: 2, training: true, threads: 1)
        let h = Self.normHarness(c)
        let m = c.batch * c.height * c.width
        let x = uniformArray(h.inputCount, seed: 12, in: -2...3)
        let gamma = try #require(h.store.values(of: "bn.weight")), beta = try #require(h.store.values(of: "bn.bias"))
        let mean0 = try #require(h.store.values(of: "bn.running_mean")), var0 = try #require(h.store.values(of: "bn.running_var"))

        let y = h.forward(x, training: true)
        let mean1 = try #require(h.store.values(of: "bn.running_mean")), var1 = try #require(h.store.values(of: "bn.running_var"))
        for ch in 0..<c.channels {
            let xs = x[(ch * m)..<((ch + 1) * m)].map(Double.init)
            let mu = xs.reduce(0, +) / Double(m)
            let ss = xs.reduce(0) { $0 + ($1 - mu) * ($1 - mu) }
            for i in 0..<m {
                let expected = Double(gamma[ch]) * (xs[i] - mu) / (ss / Double(m) + 1e-5).squareRoot() + Double(beta[ch])
                #expect(abs(Double(y[ch * m + i]) - expected) < 1e-5)
            }
            #expect(abs(Double(mean1[ch]) - (0.9 * Double(mean0[ch]) + 0.1 * mu)) < 1e-6)
            #expect(abs(Double(var1[ch]) - (0.9 * Double(var0[ch]) + 0.1 * ss / Double(m - 1))) < 1e-6)
        }

        let yEval = h.forward(x, training: false)
        #expect(try #require(h.store.values(of: "bn.running_mean")) == mean1, "evaluation must not move the statistics")
        for ch in 0..<c.channels {
            let inv = 1 / (Double(var1[ch]) + 1e-5).squareRoot()
            for i in 0..<m {
                let expected = Double(gamma[ch]) * (Double(x[ch * m + i]) - Double(mean1[ch])) * inv + Double(beta[ch])
                #expect(abs(Double(yEval[ch * m + i]) - expected) < 1e-5)
            }
        }
    }

    // MARK: ReLU, pooling, flatten

    @Test(arguments: [ActivationShape.spatial(3, 4, 5), .flat(7)], [1, 2])
    func relu(shape: ActivationShape, threads: Int) {
        let h = LayerHarness(batch: 3, threads: threads) { _ in ReLU(name: "relu", shape: shape) }
        // |x| ≥ 0.1 and step 0.01: no perturbation crosses the kink.
        let x = awayFromZero(h.inputCount, seed: 13)
        let results = h.check(input: x, training: true, step: 0.01)
        expectGradientsMatch(results, tolerance: Self.tolerance)
        #expect(h.forward(x, training: true) == x.map { max($0, 0) })
    }

    struct PoolCase: Sendable, CustomTestStringConvertible {
        var channels, height, width, kernel, stride, padding: Int
        var testDescription: String { "C\(channels) \(height)x\(width) \(kernel)x\(kernel)/s\(stride)p\(padding)" }
        var geometry: ConvGeometry {
            ConvGeometry(inChannels: channels, outChannels: channels, height: height, width: width,
                         kernel: kernel, stride: stride, padding: padding)
        }
    }

    static let poolCases: [PoolCase] = [
        PoolCase(channels: 3, height: 6, width: 4, kernel: 2, stride: 2, padding: 0),
        // Overlapping windows (one input can win twice) and padding, as in the ResNet stem.
        PoolCase(channels: 2, height: 7, width: 6, kernel: 3, stride: 2, padding: 1),
        PoolCase(channels: 2, height: 5, width: 5, kernel: 3, stride: 1, padding: 1),
    ]

    /// Distinct values 0.05 apart in every plane (a random permutation), so a ±0.01 step never
    /// changes which element wins a window.
    static func tieFreeInput(planes: Int, plane: Int, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        var x: [Float] = []
        for _ in 0..<planes {
            var ranks = Array(0..<plane)
            ranks.shuffle(using: &rng)
            x += ranks.map { Float($0) * 0.05 - 1 }
        }
        return x
    }

    @Test(arguments: poolCases)
    func maxPool(_ c: PoolCase) {
        let h = LayerHarness(batch: 2) { _ in MaxPool2D(name: "pool", geometry: c.geometry) }
        let x = Self.tieFreeInput(planes: c.channels * 2, plane: c.height * c.width, seed: 14)
        let results = h.check(input: x, training: true, step: 0.01)
        expectGradientsMatch(results, tolerance: Self.tolerance)

        // Forward against a direct max over each window (padding never wins).
        let g = c.geometry, y = h.forward(x, training: false)
        for p in 0..<(c.channels * 2) {
            for oy in 0..<g.outHeight {
                for ox in 0..<g.outWidth {
                    var best = -Float.infinity
                    for ky in 0..<c.kernel {
                        for kx in 0..<c.kernel {
                            let iy = oy * c.stride - c.padding + ky, ix = ox * c.stride - c.padding + kx
                            if iy >= 0 && iy < c.height && ix >= 0 && ix < c.width { best = max(best, x[p * g.inputPlane + iy * c.width + ix]) }
                        }
                    }
                    #expect(y[p * g.outputPlane + oy * g.outWidth + ox] == best)
                }
            }
        }
    }

    @Test(arguments: poolCases, [false, true])
    func avgPool(_ c: PoolCase, countPadding: Bool) {
        let h = LayerHarness(batch: 2) { _ in AvgPool2D(name: "pool", geometry: c.geometry, countPadding: countPadding) }
        let x = uniformArray(h.inputCount, seed: 16)
        expectGradientsMatch(h.check(input: x, training: true, step: 0.05), tolerance: Self.tolerance)

        // Forward against a direct mean over each window: over its cells inside the image, or
        // over k² with padding as zeros.
        let g = c.geometry, y = h.forward(x, training: false)
        for p in 0..<(c.channels * 2) {
            for oy in 0..<g.outHeight {
                for ox in 0..<g.outWidth {
                    var sum: Float = 0, cells = 0
                    for ky in 0..<c.kernel {
                        for kx in 0..<c.kernel {
                            let iy = oy * c.stride - c.padding + ky, ix = ox * c.stride - c.padding + kx
                            if iy >= 0 && iy < c.height && ix >= 0 && ix < c.width { sum += x[p * g.inputPlane + iy * c.width + ix]; cells += 1 }
                        }
                    }
                    let expected = sum / Float(countPadding ? c.kernel * c.kernel : cells)
                    #expect(abs(y[p * g.outputPlane + oy * g.outWidth + ox] - expected) < 1e-6)
                }
            }
        }
    }

    @Test func globalAvgPool() {
        let (c, hgt, w, n) = (3, 4, 5, 2)
        let h = LayerHarness(batch: n) { _ in GlobalAvgPool(name: "gap", shape: .spatial(c, hgt, w)) }
        #expect(h.layer.outputShape == .flat(c))
        let x = uniformArray(h.inputCount, seed: 15)
        expectGradientsMatch(h.check(input: x, training: true, step: 0.05), tolerance: Self.tolerance)
        // [C, N, H·W] → [N, C] means.
        let y = h.forward(x, training: false)
        for ch in 0..<c {
            for i in 0..<n {
                let plane = x[((ch * n + i) * hgt * w)..<((ch * n + i + 1) * hgt * w)]
                #expect(abs(y[i * c + ch] - plane.reduce(0, +) / Float(hgt * w)) < 1e-6)
            }
        }
    }

    @Test func flatten() {
        let (c, hgt, w, n) = (3, 2, 4, 2)
        let h = LayerHarness(batch: n) { _ in Flatten(name: "flatten", shape: .spatial(c, hgt, w)) }
        #expect(h.layer.outputShape == .flat(c * hgt * w))
        let x = uniformArray(h.inputCount, seed: 16)
        expectGradientsMatch(h.check(input: x, training: true, step: 0.05), tolerance: Self.tolerance)
        // Features are ordered (c, h, w) per image, as PyTorch's flatten(1) of NCHW.
        let y = h.forward(x, training: false)
        for i in 0..<n {
            for ch in 0..<c {
                for p in 0..<(hgt * w) {
                    #expect(y[i * c * hgt * w + ch * hgt * w + p] == x[(ch * n + i) * hgt * w + p])
                }
            }
        }
    }

    @Test(arguments: [1, 3])
    func dense(batch: Int) throws {
        let (inputs, outputs) = (7, 5)
        let h = LayerHarness(batch: batch) { registry in
            Dense(name: "fc", inputFeatures: inputs, outputFeatures: outputs, registry: registry)
        }
        h.randomizeParameters(seed: 17)
        let x = uniformArray(h.inputCount, seed: 18)
        expectGradientsMatch(h.check(input: x, training: true, step: 0.05), tolerance: Self.tolerance)
        // y = x·Wᵀ + b with W [O, I].
        let w = try #require(h.store.values(of: "fc.weight")), b = try #require(h.store.values(of: "fc.bias"))
        let y = h.forward(x, training: false)
        for i in 0..<batch {
            for o in 0..<outputs {
                var expected = Double(b[o])
                for k in 0..<inputs { expected += Double(x[i * inputs + k]) * Double(w[o * inputs + k]) }
                #expect(abs(Double(y[i * outputs + o]) - expected) < 1e-5)
            }
        }
    }

    // MARK: Dropout

    @Test func dropoutTrainingWithFixedMask() {
        let rate: Float = 0.4
        let h = LayerHarness(batch: 4) { _ in Dropout(name: "drop", shape: .spatial(2, 3, 4), rate: rate) }
        let x = uniformArray(h.inputCount, seed: 19)
        // Same generator state → same mask: the objective is a fixed linear map and FD is exact.
        #expect(h.forward(x, training: true, rngSeed: 77) == h.forward(x, training: true, rngSeed: 77))
        let results = h.check(input: x, training: true, rngSeed: 77, step: 0.05)
        expectGradientsMatch(results, tolerance: Self.tolerance)

        // Inverted dropout: each value is either dropped or scaled by exactly 1/(1−rate).
        let y = h.forward(x, training: true, rngSeed: 78)
        let kept = zip(x, y).filter { $0.1 != 0 }
        #expect(kept.allSatisfy { abs($0.1 - $0.0 / (1 - rate)) <= 1e-6 * abs($0.0) + 1e-7 })
        let fraction = Double(kept.count) / Double(x.count)
        #expect(abs(fraction - Double(1 - rate)) < 0.2, "kept \(fraction) of the values at rate \(rate)")
        // Without re-seeding, consecutive training forwards draw new masks.
        #expect(h.forward(x, training: true) != h.forward(x, training: true))
    }

    @Test func dropoutIsIdentityInEvaluation() {
        let h = LayerHarness(batch: 3) { _ in Dropout(name: "drop", shape: .flat(6), rate: 0.5) }
        let x = uniformArray(h.inputCount, seed: 20)
        #expect(h.forward(x, training: false) == x)
        let results = h.check(input: x, training: false, step: 0.05)
        expectGradientsMatch(results, tolerance: Self.tolerance)
        let r = uniformArray(h.outputCount, seed: 21)
        #expect(h.analytic(x, r, training: false, rngSeed: nil).input == r)
    }

    // MARK: Residual blocks

    struct BlockCase: Sendable, CustomTestStringConvertible {
        var inChannels, outChannels, stride, height, width: Int
        var training: Bool
        var threads: Int
        var testDescription: String {
            "\(inChannels)->\(outChannels) s\(stride) @\(height)x\(width) training:\(training) threads:\(threads)"
        }
    }

    static let blockCases: [BlockCase] = [
        BlockCase(inChannels: 4, outChannels: 4, stride: 1, height: 5, width: 6, training: true, threads: 1),   // identity
        BlockCase(inChannels: 4, outChannels: 4, stride: 1, height: 5, width: 6, training: false, threads: 2),
        BlockCase(inChannels: 3, outChannels: 6, stride: 2, height: 7, width: 6, training: true, threads: 1),   // projection, strided
        BlockCase(inChannels: 3, outChannels: 5, stride: 1, height: 4, width: 4, training: false, threads: 1),  // projection, channels only
        // Identity with Winograd convolutions. Evaluation mode: the block is then piecewise linear and a
        // large step keeps the (larger) Winograd rounding noise out of the differences.
        BlockCase(inChannels: 16, outChannels: 16, stride: 1, height: 3, width: 4, training: false, threads: 2),
    ]

    @Test(arguments: blockCases)
    func residualBlock(_ c: BlockCase) throws {
        let h = LayerHarness(batch: 2, threads: c.threads) { registry in
            ResidualBlock(name: "block", input: .spatial(c.inChannels, c.height, c.width), outChannels: c.outChannels,
                          stride: c.stride, registry: registry)
        }
        let block = try #require(h.layer as? ResidualBlock)
        let projects = c.stride != 1 || c.inChannels != c.outChannels
        #expect(block.projection.isEmpty == !projects)
        #expect(h.store.entries.contains { $0.name == "block.shortcut.conv.weight" } == projects)
        h.randomizeParameters(seed: 21)
        let x = uniformArray(h.inputCount, seed: 22)
        // Two ReLUs inside: entries whose ±h evaluations see a different ReLU pattern are retried
        // with smaller steps (see `LayerHarness.check`).
        let results = h.check(input: x, training: c.training, step: c.training ? 5e-3 : 2e-2,
                              inputLimit: c.inChannels >= 16 ? 40 : 100, parameterLimit: c.inChannels >= 16 ? 8 : 24) { x in
            reluPattern([h.layer], input: Activation(shape: h.layer.inputShape, batch: h.batch, buffer: FloatBuffer(x)),
                        context: h.context, training: { _ in c.training })
        }
        expectGradientsMatch(results, tolerance: Self.tolerance)
    }

    // MARK: Meta-checks: the checker has teeth

    /// A 10% error in the analytic gradient, in one entry or everywhere, or a gradient that ignores the
    /// batch-statistics terms of BatchNorm, fails the same tolerance the tests use.
    @Test func checkerRejectsWrongGradients() throws {
        let c = NormCase(channels: 3, height: 4, width: 5, batch: 2, training: true, threads: 1)
        let h = Self.normHarness(c)
        let x = uniformArray(h.inputCount, seed: 23)
        let results = h.check(input: x, training: true, step: 4e-3)
        let input = try #require(results.first)
        #expect(input.worst < Self.tolerance)

        let scaled = input.withAnalytic { $0.map { $0 * 1.1 } }
        #expect(scaled.worst > Self.tolerance)
        let largest = try #require(input.analytic.indices.max { abs(input.analytic[$0]) < abs(input.analytic[$1]) })
        let oneEntry = input.withAnalytic { a in var a = a; a[largest] *= 1.1; return a }
        #expect(oneEntry.worst > Self.tolerance)
        let typical = input.analytic.indices.sorted { abs(input.analytic[$0]) < abs(input.analytic[$1]) }[input.count / 2]
        let typicalEntry = input.withAnalytic { a in var a = a; a[typical] *= 1.1; return a }
        #expect(typicalEntry.worst > Self.tolerance)

        // The eval-mode formula γ/σ·dy applied to a batch-statistics forward: a classic BN bug.
        let r = uniformArray(h.outputCount, seed: 5 &+ 1000)
        let gamma = try #require(h.store.values(of: "bn.weight"))
        let m = c.batch * c.height * c.width
        var naive = [Double](repeating: 0, count: x.count)
        for ch in 0..<c.channels {
            let xs = x[(ch * m)..<((ch + 1) * m)].map(Double.init)
            let mu = xs.reduce(0, +) / Double(m)
            let variance = xs.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / Double(m)
            for i in 0..<m { naive[ch * m + i] = Double(gamma[ch]) / (variance + 1e-5).squareRoot() * Double(r[ch * m + i]) }
        }
        #expect(input.count == x.count)
        #expect(input.withAnalytic { _ in naive }.worst > 10 * Self.tolerance)
    }
}
