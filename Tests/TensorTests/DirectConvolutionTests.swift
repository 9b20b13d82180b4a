import CKernels
import Testing
@testable import Tensor

@Suite struct DirectConvolutionTests {
    /// Few input channels: the RGB 3×3 stem, ResNet's 7×7/2 stem on a small odd image, a grey
    /// input, stride 3, a 1×1 window, padding wider than the stride, a non-square image narrower than
    /// a vector, rows of several register tiles plus a narrower tile for the rest (at 16 lanes: 70
    /// wide is 4 + 1 vectors, 90 is 4 + 2, ResNet's 7×7/2 stem at 100 wide is 4 + 3), and output
    /// channel counts that are not multiples of the 6-channel tile.
    static let shapes: [ConvGeometry] = [
        ConvGeometry(inChannels: 3, outChannels: 8, height: 9, width: 11, kernel: 3, stride: 1, padding: 1),
        ConvGeometry(inChannels: 3, outChannels: 13, height: 15, width: 17, kernel: 7, stride: 2, padding: 3),
        ConvGeometry(inChannels: 1, outChannels: 5, height: 6, width: 70, kernel: 3, stride: 1, padding: 1),
        ConvGeometry(inChannels: 2, outChannels: 7, height: 10, width: 37, kernel: 5, stride: 3, padding: 2),
        ConvGeometry(inChannels: 4, outChannels: 6, height: 5, width: 3, kernel: 1, stride: 1, padding: 0),
        ConvGeometry(inChannels: 3, outChannels: 4, height: 8, width: 53, kernel: 2, stride: 2, padding: 0),
        ConvGeometry(inChannels: 2, outChannels: 9, height: 7, width: 6, kernel: 3, stride: 1, padding: 2),
        ConvGeometry(inChannels: 3, outChannels: 7, height: 5, width: 90, kernel: 3, stride: 1, padding: 1),
        ConvGeometry(inChannels: 3, outChannels: 8, height: 9, width: 200, kernel: 7, stride: 2, padding: 3),
        // More output rows than a block (16): blocks end inside an image, and two workers' ranges
        // start inside one.
        ConvGeometry(inChannels: 3, outChannels: 5, height: 37, width: 9, kernel: 3, stride: 1, padding: 1),
        ConvGeometry(inChannels: 2, outChannels: 7, height: 61, width: 13, kernel: 7, stride: 2, padding: 3),
    ]

    @Test(arguments: shapes, [1, 2])
    func matchesReferenceAtEveryLevel(g: ConvGeometry, threads: Int) {
        let batch = 2
        let input = randomArray(g.inChannels * batch * g.inputPlane, seed: 61)
        let weight = randomArray(g.outChannels * g.patchSize, seed: 62)
        let bias = randomArray(g.outChannels, seed: 63)
        let residual = randomArray(g.outChannels * batch * g.outputPlane, seed: 64)
        let pool = ComputePool(threads: threads)
        let direct = weight.withUnsafeBufferPointer { DirectWeights($0.baseAddress!, geometry: g) }
        let swiftReference = referenceWithFusedEpilogue(g, batch: batch, input: input, weight: weight, bias: bias,
                                                        residual: residual)
        let cReference = bias.withUnsafeBufferPointer { b in
            residual.withUnsafeBufferPointer { r in
                [Float](repeating: .nan, count: residual.count).withBuffer { out in
                    var shape = g.kernelShape
                    var ep = bk_epilogue(bias: b.baseAddress, residual: r.baseAddress, ldr: 0, relu: 1)
                    bk_reference_conv(&shape, Int32(batch), input, weight, &ep, out)
                }
            }
        }
        #expect(relativeError(cReference, swiftReference) < 1e-5, "the two references")
        for level in KernelLevel.supported {
            let out = withFusedEpilogue(bias: bias, residual: residual) { epilogue, out in
                DirectConvolution.forward(g, batch: batch, input: input, weight: direct, epilogue: epilogue,
                                          output: out, pool: pool, scratch: scratch(pool), level: level)
            }
            #expect(relativeError(out, cReference) < 1e-5, "level \(level)")
            #expect(!out.contains { $0.isNaN }, "level \(level) left an output unwritten")
        }
    }

    /// Without an epilogue the kernel writes the plain convolution (no bias, no ReLU: negatives stay).
    @Test func plainConvolutionKeepsNegatives() {
        let g = ConvGeometry(inChannels: 3, outChannels: 5, height: 7, width: 9, kernel: 3, stride: 1, padding: 1)
        let input = randomArray(g.inChannels * g.inputPlane, seed: 65)
        let weight = randomArray(g.outChannels * g.patchSize, seed: 66)
        let direct = weight.withUnsafeBufferPointer { DirectWeights($0.baseAddress!, geometry: g) }
        let pool = ComputePool(threads: 2)
        let expected = ConvolutionReference.forward(g, batch: 1, input: input, weight: weight, bias: nil)
        let out = [Float](repeating: .nan, count: expected.count).withBuffer { out in
            DirectConvolution.forward(g, batch: 1, input: input, weight: direct, output: out, pool: pool, scratch: scratch(pool))
        }
        #expect(out.contains { $0 < 0 })
        #expect(relativeError(out, expected) < 1e-5)
    }
}
