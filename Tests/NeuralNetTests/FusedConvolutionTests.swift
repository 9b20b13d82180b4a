import Testing
@testable import NeuralNet
import Tensor

/// `FusedConvolution`'s public face (what `boundary bench engine` times per algorithm): built with
/// any candidate algorithm, it computes the same convolution as the naive reference, with its bias,
/// the residual and the ReLU applied.
@Suite struct FusedConvolutionTests {
    static let shapes: [ConvGeometry] = [
        ConvGeometry(inChannels: 3, outChannels: 13, height: 11, width: 9, kernel: 3, stride: 1, padding: 1),  // direct, Winograd
        ConvGeometry(inChannels: 3, outChannels: 8, height: 15, width: 13, kernel: 7, stride: 2, padding: 3),  // a stem
        ConvGeometry(inChannels: 10, outChannels: 7, height: 6, width: 7, kernel: 1),  // pointwise
        ConvGeometry(inChannels: 9, outChannels: 20, height: 9, width: 8, kernel: 3, stride: 2, padding: 1),
    ]

    @Test(arguments: shapes)
    func everyCandidateMatchesTheReference(_ g: ConvGeometry) {
        let batch = 2, threads = 2
        let input = uniformArray(g.inChannels * batch * g.inputPlane, seed: 1)
        let weight = uniformArray(g.outChannels * g.patchSize, seed: 2, in: -0.5...0.5)
        let bias = uniformArray(g.outChannels, seed: 3)
        let outputCount = g.outChannels * batch * g.outputPlane
        let residual = uniformArray(outputCount, seed: 4)
        let reference = zip(ConvolutionReference.forward(g, batch: batch, input: input, weight: weight, bias: bias), residual)
            .map { max(0, $0 + $1) }
        let pool = ComputePool(threads: threads)
        let scratch = (0..<threads).map { _ in ScratchBuffer() }
        let candidates = ConvolutionAlgorithm.candidates(for: g)
        #expect(candidates.count >= 2, "\(g) has a choice to test")
        for algorithm in candidates {
            let conv = FusedConvolution(g, algorithm: algorithm, weight: weight, bias: bias, relu: true)
            #expect(conv.algorithm == algorithm && conv.geometry == g)
            var output = [Float](repeating: .nan, count: outputCount)
            output.withUnsafeMutableBufferPointer { out in
                conv.run(batch: batch, input: input, output: out.baseAddress!, residual: residual, pool: pool, scratch: scratch)
            }
            #expect(output.allSatisfy { $0.isFinite }, "\(algorithm) on \(g) left outputs unwritten")
            let difference = maxRelativeDifference(output, reference)
            #expect(difference < 1e-4, "\(algorithm) on \(g): max relative difference \(difference)")
        }
    }
}
