import Foundation
import Testing
@testable import NeuralNet
import Tensor

/// Grad-CAM and feature maps: against naive references, against finite differences, and on a
/// tiny model that must point at what it learned to look for.
@Suite struct ExplanationTests {
    static func input(_ spec: ModelSpec, seed: UInt64) -> [Float] {
        uniformArray(spec.input.channels * spec.input.height * spec.input.width, seed: seed)
    }

    /// conv(4, 3×3, bias) → ReLU → global average → dense: Grad-CAM there is the class-weighted
    /// map of the ReLU's output (CAM, Zhou et al. 2016), αₖ = W[label, k] / (H·W), and layer 0's
    /// feature maps are a direct convolution of the input.
    @Test func poolAndDenseHeadGiveTheClassWeightedMapAndConvolutionFeatureMaps() throws {
        let spec = ModelSpec(name: "cam", input: InputSpec(channels: 2, height: 7, width: 5, mean: [0, 0], std: [1, 1]),
                             layers: [.conv(out: 4, kernel: 3, stride: 1, padding: 1, bias: true), .relu, .globalAvgPool,
                                      .dense(out: nil)], labels: labels(3))
        let network = try Network(spec: spec, seed: 5)
        let conv = network.layers[0] as! Conv2D, dense = network.layers[3] as! Dense
        let bias = network.parameters.value(conv.bias!)
        for k in 0..<4 { bias[k] = Float(k) * 0.1 - 0.1 }
        let x = Self.input(spec, seed: 9)
        let (h, w, plane) = (7, 5, 35)
        let weights = network.parameters.value(conv.weight)
        var direct = [Float](repeating: 0, count: 4 * plane)
        for k in 0..<4 {
            for y in 0..<h {
                for xx in 0..<w {
                    var sum = bias[k]
                    for c in 0..<2 {
                        for ky in 0..<3 {
                            for kx in 0..<3 {
                                let (sy, sx) = (y + ky - 1, xx + kx - 1)
                                guard sy >= 0, sy < h, sx >= 0, sx < w else { continue }
                                sum += weights[((k * 2 + c) * 3 + ky) * 3 + kx] * x[c * plane + sy * w + sx]
                            }
                        }
                    }
                    direct[k * plane + y * w + xx] = sum
                }
            }
        }
        let maps = x.withUnsafeBufferPointer { network.featureMaps(image: $0.baseAddress!, layer: 0) }
        #expect((maps.layer, maps.channels, maps.height, maps.width) == ("layers.0", 4, 7, 5))
        #expect(maxAbsoluteDifference(maps.values, direct) < 1e-5)

        let relu = direct.map { max(0, $0) }
        let denseWeights = network.parameters.value(dense.weight)
        for label in 0..<3 {
            let cam = try x.withUnsafeBufferPointer { try network.classActivationMap(image: $0.baseAddress!, label: label, layer: 1) }
            let alpha = (0..<4).map { denseWeights[label * 4 + $0] / Float(plane) }
            let reference = (0..<plane).map { p in max(0, (0..<4).reduce(Float(0)) { $0 + alpha[$1] * relu[$1 * plane + p] }) }
            #expect(maxAbsoluteDifference(cam.channelWeights, alpha) < 1e-6)
            #expect(maxAbsoluteDifference(cam.heat, reference) < 1e-5)
            #expect(cam.heat.contains { $0 > 0 }, "a random map is not all zero")
            let logits = network.logits(x, batch: 1)
            #expect(abs(cam.score - logits[label]) < 1e-5)
            #expect(abs(cam.probability - softmaxRows(logits, columns: 3)[label]) < 1e-5)
        }
    }

    /// Through BatchNorm on running statistics, a residual block, dropout (off at evaluation) and
    /// a hidden dense layer, ∂logit/∂A from the backward pass agrees with central differences of
    /// the logit the following layers compute from A.
    @Test(arguments: [0, 3]) func scoreGradientMatchesFiniteDifferences(layer: Int) throws {
        let spec = ModelSpec(name: "fd", input: InputSpec(channels: 3, height: 8, width: 8, mean: [0, 0, 0], std: [1, 1, 1]),
                             layers: [.conv(out: 6, kernel: 3, stride: 1, padding: 1, bias: false), .batchNorm, .relu,
                                      .residual(out: 8, stride: 2), .globalAvgPool, .dropout(rate: 0.5), .dense(out: 10), .relu,
                                      .dense(out: nil)], labels: labels(4))
        let network = try Network(spec: spec, seed: 3)
        var rng = SeededGenerator(seed: 17)
        for entry in network.parameters.entries where entry.kind == .state {
            let p = network.parameters.pointer(for: entry)
            let isVariance = entry.name.hasSuffix("running_var")
            for i in 0..<entry.slot.count { p[i] = isVariance ? 0.5 + rng.nextUniform() * 1.5 : rng.nextUniform() - 0.5 }
        }
        let x = Self.input(spec, seed: 21)
        let (activation, gradient, logits) = x.withUnsafeBufferPointer {
            network.scoreGradient(image: $0.baseAddress!, label: 2, layer: layer)
        }
        #expect(maxAbsoluteDifference(logits, network.logits(x, batch: 1)) < 1e-5)
        let step: Float = 1e-2
        var analytic: [Double] = [], numeric: [Double] = []
        for i in sampleIndices(activation.count, limit: 120, seed: 4) {
            var plus = activation, minus = activation
            plus[i] += step
            minus[i] -= step
            let up = network.logits(after: layer, from: plus)[2], down = network.logits(after: layer, from: minus)[2]
            analytic.append(Double(gradient[i]))
            numeric.append(Double(up - down) / Double(2 * step))
        }
        let comparison = GradientComparison(name: "∂logit/∂A at layer \(layer)", analytic: analytic, numeric: numeric)
        #expect(comparison.normRelative < 0.02, "\(comparison)")
        #expect(numeric.contains { abs($0) > 1e-3 }, "the check is not vacuous")
        #expect(comparison.withAnalytic { $0.map { $0 * 1.2 } }.normRelative > 0.1, "a 20% error would be seen")
    }

    @Test func layerNamesAndLabelsAreChecked() throws {
        let network = try Network(spec: FitTests.spec(), seed: 1)
        #expect(network.spatialLayerNames == (0...6).map { "layers.\($0)" })
        #expect(try network.explainableLayer(named: nil) == 6, "the end of the convolutional stack")
        #expect(try network.explainableLayer(named: "layers.3") == 3)
        #expect(throws: ExplanationError.unknownLayer("layers.7", spatial: network.spatialLayerNames)) {
            try network.explainableLayer(named: "layers.7")
        }
        let x = [Float](repeating: 0, count: FitTests.side * FitTests.side)
        #expect(throws: ExplanationError.labelOutOfRange(4, classes: 4)) {
            try x.withUnsafeBufferPointer { try network.classActivationMap(image: $0.baseAddress!, label: 4, layer: 6) }
        }
        #expect(ExplanationError.unknownLayer(String(repeating: "x", count: 5000), spatial: []).description.utf8.count < 200)
    }

    // MARK: - A model that learned where to look

    static let side = 16

    /// A bright 4×4 square at a random place in the left (label 0) or right (label 1) half, on
    /// noise, with a second channel holding the column (0 at the left edge, 1 at the right):
    /// convolutions are blind to absolute position, so without it (CoordConv, Liu et al. 2018) a
    /// network ending in a global average could tell the halves apart only from the zero padding.
    /// Returns the image and the square's top-left corner.
    static func squareImage(right: Bool, rng: inout SeededGenerator) -> (image: [Float], x: Int, y: Int) {
        let s = side
        let y = Int(rng.next() % UInt64(s - 4)), x = Int(rng.next() % UInt64(s / 2 - 4)) + (right ? s / 2 : 0)
        var pixels = (0..<(s * s)).map { _ in 0.2 * rng.nextNormal() }
        for dy in 0..<4 { for dx in 0..<4 { pixels[(y + dy) * s + x + dx] += 1 } }
        let column = (0..<(s * s)).map { Float($0 % s) / Float(s - 1) }
        return (pixels + column, x, y)
    }

    /// Trained on "square on the left" against "square on the right", the map for "right" of a
    /// right-square image peaks on the square, and the square's cells are far hotter than the left half.
    /// (What "left" is explained by is up to the model: this one learned it as "nothing bright on
    /// the right", and its maps for "left" are spread over the empty half, which is as faithful.)
    @Test func theExplanationOfASquareOnTheRightPointsAtIt() throws {
        let s = Self.side
        let spec = ModelSpec(name: "halves", input: InputSpec(channels: 2, height: s, width: s, mean: [0, 0], std: [1, 1]),
                             layers: [.conv(out: 8, kernel: 3, stride: 1, padding: 1, bias: false), .batchNorm, .relu,
                                      .maxPool(kernel: 2, stride: 2, padding: 0),
                                      .conv(out: 8, kernel: 3, stride: 1, padding: 1, bias: false), .batchNorm, .relu,
                                      .globalAvgPool, .dense(out: nil)],
                             labels: ["left", "right"])
        let network = try Network(spec: spec, seed: 11)
        let trainer = Trainer(network: network, optimizer: OptimizerConfig(kind: .adamW(), learningRate: 0.01, weightDecay: 1e-4,
                                                                           schedule: .constant))
        var rng = SeededGenerator(seed: 2)
        for _ in 0..<80 {
            let labels = (0..<16).map { $0 % 2 }
            let x = labels.flatMap { Self.squareImage(right: $0 == 1, rng: &rng).image }
            trainer.step(x, targets: labels.map { .label($0) })
        }
        var fresh = SeededGenerator(seed: 99)
        for trial in 0..<8 {
            let (image, squareX, squareY) = Self.squareImage(right: true, rng: &fresh)
            let cam = try image.withUnsafeBufferPointer {
                try network.classActivationMap(image: $0.baseAddress!, label: 1, layer: network.explainableLayer(named: nil))
            }
            #expect(cam.probability > 0.9, "the model learned the task (\(cam.probability))")
            let (h, w) = (cam.height, cam.width), scale = s / w  // The map is at half the image's resolution.
            // Per cell, the square's cells are far hotter than the left half's.
            let footprint = (squareY / scale...(squareY + 3) / scale).flatMap { y in
                (squareX / scale...(squareX + 3) / scale).map { y * w + $0 }
            }
            let onSquare = footprint.reduce(Float(0)) { $0 + cam.heat[$1] } / Float(footprint.count)
            let leftHalf = (0..<h).flatMap { y in (0..<(w / 2)).map { y * w + $0 } }
            let onLeft = leftHalf.reduce(Float(0)) { $0 + cam.heat[$1] } / Float(leftHalf.count)
            #expect(onSquare > 3 * onLeft, "trial \(trial): mean heat \(onSquare) on the square, \(onLeft) on the left half")
            let peak = cam.heat.indices.max { cam.heat[$0] < cam.heat[$1] }!
            let (peakX, peakY) = (peak % w, peak / w)
            // The square covers cells squareX/2 ... (squareX+3)/2; one cell of slack for the 3×3 receptive field.
            #expect((squareX / scale - 1)...((squareX + 3) / scale + 1) ~= peakX
                    && (squareY / scale - 1)...((squareY + 3) / scale + 1) ~= peakY,
                    "trial \(trial): the heat peaks at cell (\(peakX), \(peakY)), the square is at pixel (\(squareX), \(squareY))")
        }
    }
}
