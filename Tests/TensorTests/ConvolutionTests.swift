import Testing
@testable import Tensor

/// The fast convolution paths against the direct-loop reference on a grid of shapes.
@Suite struct ConvolutionTests {
    static let shapes: [ConvGeometry] = [
        ConvGeometry(inChannels: 3, outChannels: 4, height: 7, width: 9, kernel: 3, stride: 1, padding: 1),
        ConvGeometry(inChannels: 2, outChannels: 5, height: 8, width: 8, kernel: 3, stride: 2, padding: 1),
        ConvGeometry(inChannels: 4, outChannels: 3, height: 6, width: 5, kernel: 1, stride: 1, padding: 0),
        ConvGeometry(inChannels: 4, outChannels: 6, height: 9, width: 9, kernel: 1, stride: 2, padding: 0),
        ConvGeometry(inChannels: 3, outChannels: 2, height: 11, width: 10, kernel: 7, stride: 2, padding: 3),
        ConvGeometry(inChannels: 2, outChannels: 3, height: 5, width: 6, kernel: 5, stride: 1, padding: 0),
        ConvGeometry(inChannels: 3, outChannels: 3, height: 6, width: 7, kernel: 2, stride: 3, padding: 1),
        // Rows wide enough for im2col's stride-2 SIMD copy, with both image borders in the window.
        ConvGeometry(inChannels: 2, outChannels: 3, height: 5, width: 45, kernel: 3, stride: 2, padding: 1),
        ConvGeometry(inChannels: 2, outChannels: 4, height: 9, width: 40, kernel: 7, stride: 2, padding: 3),
    ]

    @Test(arguments: shapes, [1, 2])
    func im2colForwardMatchesReference(g: ConvGeometry, threads: Int) {
        let batch = 3
        let input = randomArray(g.inChannels * batch * g.inputPlane, seed: 1)
        let weight = randomArray(g.outChannels * g.patchSize, seed: 2)
        let bias = randomArray(g.outChannels, seed: 3)
        let pool = ComputePool(threads: threads)
        let out = [Float](repeating: .nan, count: g.outChannels * batch * g.outputPlane).withBuffer { out in
            bias.withUnsafeBufferPointer { b in
                Convolution.forward(g, batch: batch, input: input, weight: weight,
                                    epilogue: Epilogue(bias: b.baseAddress), output: out,
                                    pool: pool, scratch: scratch(pool))
            }
        }
        let expected = ConvolutionReference.forward(g, batch: batch, input: input, weight: weight, bias: bias)
        #expect(relativeError(out, expected) < 1e-5)
    }

    @Test(arguments: shapes, [1, 2])
    func backwardMatchesReference(g: ConvGeometry, threads: Int) {
        let batch = 2
        let input = randomArray(g.inChannels * batch * g.inputPlane, seed: 4)
        let weight = randomArray(g.outChannels * g.patchSize, seed: 5)
        let gradOutput = randomArray(g.outChannels * batch * g.outputPlane, seed: 6)
        let pool = ComputePool(threads: threads)
        let gradInput = [Float](repeating: .nan, count: input.count).withBuffer { gi in
            Convolution.backwardData(g, batch: batch, gradOutput: gradOutput, weight: weight,
                                     gradInput: gi, pool: pool, scratch: scratch(pool))
        }
        #expect(relativeError(gradInput, ConvolutionReference.backwardData(
            g, batch: batch, gradOutput: gradOutput, weight: weight)) < 1e-5)
        // Accumulates: start from 1s and expect reference + 1.
        let gradWeight = [Float](repeating: 1, count: weight.count).withBuffer { gw in
            Convolution.backwardWeight(g, batch: batch, input: input, gradOutput: gradOutput, gradWeight: gw,
                                       pool: pool, scratch: scratch(pool), partials: scratch(pool))
        }
        let expected = ConvolutionReference.backwardWeight(g, batch: batch, input: input, gradOutput: gradOutput)
        #expect(relativeError(gradWeight, expected.map { $0 + 1 }) < 1e-5)
    }

    static let winogradShapes: [(c: Int, oc: Int, h: Int, w: Int)] = [
        (1, 1, 4, 4), (3, 5, 7, 9), (8, 4, 1, 1), (4, 8, 2, 3), (16, 16, 16, 16), (5, 3, 13, 6), (2, 4, 11, 14),
    ]

    @Test(arguments: winogradShapes, Winograd.Variant.allCases)
    func winogradMatchesReference(shape: (c: Int, oc: Int, h: Int, w: Int), variant: Winograd.Variant) {
        let threads = shape.c % 2 + 1
        let g = ConvGeometry(inChannels: shape.c, outChannels: shape.oc, height: shape.h, width: shape.w,
                             kernel: 3, stride: 1, padding: 1)
        let batch = 3
        let input = randomArray(g.inChannels * batch * g.inputPlane, seed: 7)
        let weight = randomArray(g.outChannels * g.patchSize, seed: 8)
        let bias = randomArray(g.outChannels, seed: 9)
        let residual = randomArray(g.outChannels * batch * g.outputPlane, seed: 10)
        let u = [Float](repeating: 0, count: variant.transformedWeightCount(outChannels: g.outChannels, inChannels: g.inChannels)).withBuffer {
            Winograd.transformWeights(variant, weight, outChannels: g.outChannels, inChannels: g.inChannels, into: $0)
        }
        let pool = ComputePool(threads: threads)
        let out = withFusedEpilogue(bias: bias, residual: residual) { epilogue, out in
            Winograd.forward(g, variant: variant, batch: batch, input: input, transformedWeight: u, epilogue: epilogue,
                             output: out, pool: pool, scratch: scratch(pool))
        }
        let expected = referenceWithFusedEpilogue(g, batch: batch, input: input, weight: weight, bias: bias, residual: residual)
        #expect(relativeError(out, expected) < 1e-5)
    }

    @Test func winogradAdjointGivesDataGradient() {
        let g = ConvGeometry(inChannels: 3, outChannels: 4, height: 6, width: 5, kernel: 3, stride: 1, padding: 1)
        let batch = 2
        let weight = randomArray(g.outChannels * g.patchSize, seed: 11)
        let gradOutput = randomArray(g.outChannels * batch * g.outputPlane, seed: 12)
        let adjoint = [Float](repeating: 0, count: weight.count).withBuffer {
            Winograd.adjointWeights(weight, outChannels: g.outChannels, inChannels: g.inChannels, into: $0)
        }
        let back = ConvGeometry(inChannels: 4, outChannels: 3, height: 6, width: 5, kernel: 3, stride: 1, padding: 1)
        let u = [Float](repeating: 0, count: 16 * 12).withBuffer {
            Winograd.transformWeights(.f2x2, adjoint, outChannels: 3, inChannels: 4, into: $0)
        }
        let pool = ComputePool(threads: 2)
        let gradInput = [Float](repeating: .nan, count: 3 * batch * 30).withBuffer { out in
            Winograd.forward(back, batch: batch, input: gradOutput, transformedWeight: u, output: out,
                             pool: pool, scratch: scratch(pool))
        }
        let expected = ConvolutionReference.backwardData(g, batch: batch, gradOutput: gradOutput, weight: weight)
        #expect(relativeError(gradInput, expected) < 1e-5)
    }
}

/// The Winograd weight gradient against the direct-loop reference (7 × 9 weights: the F(4×4) way
/// back from the 36 points runs in blocks of 32, the last one part-filled).
@Suite struct WinogradWeightGradientTests {
    @Test(arguments: [(3, 4, 6, 5), (16, 8, 7, 9), (2, 3, 1, 1), (5, 5, 16, 16), (7, 9, 6, 6)], Winograd.Variant.allCases)
    func matchesReference(shape: (Int, Int, Int, Int), variant: Winograd.Variant) {
        let threads = shape.0 % 2 + 1
        let g = ConvGeometry(inChannels: shape.0, outChannels: shape.1, height: shape.2, width: shape.3,
                             kernel: 3, stride: 1, padding: 1)
        let batch = 3
        let input = randomArray(g.inChannels * batch * g.inputPlane, seed: 31)
        let gradOutput = randomArray(g.outChannels * batch * g.outputPlane, seed: 32)
        let pool = ComputePool(threads: threads)
        let gradWeight = [Float](repeating: 0.5, count: g.outChannels * g.patchSize).withBuffer { gw in
            Winograd.backwardWeight(g, variant: variant, batch: batch, input: input, gradOutput: gradOutput, gradWeight: gw,
                                    pool: pool, scratch: scratch(pool), partials: scratch(pool))
        }
        let expected = ConvolutionReference.backwardWeight(g, batch: batch, input: input, gradOutput: gradOutput)
        #expect(relativeError(gradWeight, expected.map { $0 + 0.5 }) < 1e-4)
    }
}
