import CKernels
import Testing
@testable import Tensor

@Suite struct PoolingTests {
    @Test(arguments: [(2, 2, 0), (3, 2, 1), (3, 1, 1)])
    func maxPoolMatchesNaiveAndRoutesGradient(kernel: Int, stride: Int, padding: Int) {
        let g = ConvGeometry(inChannels: 1, outChannels: 1, height: 7, width: 6, kernel: kernel,
                             stride: stride, padding: padding)
        let planes = 4
        let input = randomArray(planes * g.inputPlane, seed: 21)
        var argmax = [Int32](repeating: -2, count: planes * g.outputPlane)
        let pool = ComputePool(threads: 2)
        let out = [Float](repeating: .nan, count: planes * g.outputPlane).withBuffer { out in
            argmax.withUnsafeMutableBufferPointer { a in
                Pooling.maxForward(g, planes: planes, input: input, output: out, argmax: a.baseAddress, pool: pool)
            }
        }
        for p in 0..<planes {
            for y in 0..<g.outHeight {
                for x in 0..<g.outWidth {
                    var best = -Float.infinity
                    for ky in 0..<kernel {
                        for kx in 0..<kernel {
                            let iy = y * stride - padding + ky, ix = x * stride - padding + kx
                            if iy >= 0, iy < 7, ix >= 0, ix < 6 { best = max(best, input[p * 42 + iy * 6 + ix]) }
                        }
                    }
                    let o = p * g.outputPlane + y * g.outWidth + x
                    #expect(out[o] == best)
                    #expect(input[p * 42 + Int(argmax[o])] == best)
                }
            }
        }
        let gradOutput = randomArray(out.count, seed: 22)
        let gradInput = [Float](repeating: .nan, count: input.count).withBuffer { gi in
            Pooling.maxBackward(g, planes: planes, gradOutput: gradOutput, argmax: argmax, gradInput: gi, pool: pool)
        }
        var expected = [Float](repeating: 0, count: input.count)
        for (o, index) in argmax.enumerated() { expected[(o / g.outputPlane) * 42 + Int(index)] += gradOutput[o] }
        #expect(gradInput == expected)
    }

    @Test func globalAverageTransposesToRows() {
        let (c, n, plane) = (3, 2, 5)
        let input = randomArray(c * n * plane, seed: 23)
        let out = [Float](repeating: 0, count: n * c).withBuffer {
            Pooling.globalAverageForward(channels: c, batch: n, plane: plane, input: input, output: $0)
        }
        for ci in 0..<c {
            for ni in 0..<n {
                let mean = input[((ci * n + ni) * plane)..<((ci * n + ni + 1) * plane)].reduce(0, +) / Float(plane)
                #expect(abs(out[ni * c + ci] - mean) < 1e-6)
            }
        }
    }

    @Test func layoutSwapRoundTrips() {
        let src = randomArray(2 * 3 * 4, seed: 24)
        let cnhw = [Float](repeating: 0, count: src.count).withBuffer {
            Layout.swapLeadingAxes(src, outer: 2, inner: 3, plane: 4, into: $0)
        }
        #expect(cnhw[(1 * 2 + 0) * 4 + 2] == src[(0 * 3 + 1) * 4 + 2])
        let back = [Float](repeating: 0, count: src.count).withBuffer {
            Layout.swapLeadingAxes(cnhw, outer: 3, inner: 2, plane: 4, into: $0)
        }
        #expect(back == src)
    }
}

@Suite struct MaxPoolFastPathTests {
    static let sizes = [(8, 8), (7, 9), (16, 6), (2, 2), (5, 19), (6, 37), (3, 70)]
    static let windows = [(2, 2, 0), (3, 2, 1), (3, 1, 1), (2, 1, 1), (5, 3, 2), (2, 1, 2), (1, 2, 0), (3, 3, 1)]

    /// The training kernels (forward with argmax, backward) at every level against the C references
    /// on the same shapes, with values on a coarse grid so windows hold ties and the first of equal
    /// maxima must win; 2×2/2 covers whole vectors of windows, tails, and odd rows and columns that
    /// no window reads (their gradient must be zero).
    @Test(arguments: sizes, windows)
    func trainingKernelsMatchReference(size: (height: Int, width: Int), window: (kernel: Int, stride: Int, padding: Int)) {
        let g = ConvGeometry(inChannels: 1, outChannels: 1, height: size.height, width: size.width,
                             kernel: window.kernel, stride: window.stride, padding: window.padding)
        let planes = 3, outputs = planes * g.outputPlane
        let input = randomArray(planes * g.inputPlane, seed: 42).map { ($0 * 4).rounded() / 4 }
        let gradOutput = randomArray(outputs, seed: 43)
        var shape = g.kernelShape
        var expectedArgmax = [Int32](repeating: -2, count: outputs)
        let expected = [Float](repeating: .nan, count: outputs).withBuffer {
            bk_reference_max_pool_argmax(Int32(planes), &shape, input, $0, &expectedArgmax)
        }
        let expectedGradient = [Float](repeating: .nan, count: input.count).withBuffer {
            bk_reference_max_pool_backward(Int32(planes), &shape, gradOutput, expectedArgmax, $0)
        }
        let pool = ComputePool(threads: 2)
        for level in KernelLevel.supported {
            var argmax = [Int32](repeating: -2, count: outputs)
            let out = [Float](repeating: .nan, count: outputs).withBuffer { out in
                argmax.withUnsafeMutableBufferPointer { a in
                    Pooling.maxForward(g, planes: planes, input: input, output: out, argmax: a.baseAddress, pool: pool,
                                       level: level)
                }
            }
            #expect(out == expected, "\(level)")
            #expect(argmax == expectedArgmax, "\(level)")
            let gradient = [Float](repeating: .nan, count: input.count).withBuffer {
                Pooling.maxBackward(g, planes: planes, gradOutput: gradOutput, argmax: argmax, gradInput: $0, pool: pool,
                                    level: level)
            }
            #expect(gradient == expectedGradient, "\(level)")
        }
    }

    /// The inference path (CKernels' `bk_max_pool`, taken when no argmax is requested) at every
    /// kernel level against the training path and against the C reference: 2×2/2, ResNet's 3×3/2
    /// pad 1 stem pool, stride 1, padding wider than the stride, padding as wide as the window so that
    /// corner windows hold no pixel, rows shorter than a vector, rows of several vectors of windows
    /// with a tail, a 1×1 window, stride 3 (scalar windows).
    @Test(arguments: sizes, windows)
    func matchesGenericLoop(size: (height: Int, width: Int), window: (kernel: Int, stride: Int, padding: Int)) {
        let g = ConvGeometry(inChannels: 1, outChannels: 1, height: size.height, width: size.width,
                             kernel: window.kernel, stride: window.stride, padding: window.padding)
        let planes = 3
        let input = randomArray(planes * g.inputPlane, seed: 41)
        let pool = ComputePool(threads: 2)
        var argmax = [Int32](repeating: 0, count: planes * g.outputPlane)
        let generic = [Float](repeating: .nan, count: planes * g.outputPlane).withBuffer { out in
            argmax.withUnsafeMutableBufferPointer { a in
                Pooling.maxForward(g, planes: planes, input: input, output: out, argmax: a.baseAddress, pool: pool)
            }
        }
        let reference = [Float](repeating: .nan, count: planes * g.outputPlane).withBuffer { out in
            var shape = g.kernelShape
            bk_reference_max_pool(Int32(planes), &shape, input, out)
        }
        #expect(reference == generic)
        for level in KernelLevel.supported {
            let fast = [Float](repeating: .nan, count: planes * g.outputPlane).withBuffer { out in
                Pooling.maxForward(g, planes: planes, input: input, output: out, argmax: nil, pool: pool, level: level)
            }
            #expect(fast == generic, "\(level)")
        }
    }
}

@Suite struct ElementwiseTests {
    @Test(arguments: [1, 4, 7, 1031])
    func reluAndBackwardMatchScalar(count: Int) {
        let x = randomArray(count, seed: 51), dy = randomArray(count, seed: 52)
        let y = [Float](repeating: .nan, count: count).withBuffer { Elementwise.relu(x, into: $0, count: count) }
        #expect(y == x.map { max($0, 0) })
        let dx = [Float](repeating: .nan, count: count).withBuffer {
            Elementwise.reluBackward(output: y, gradOutput: dy, into: $0, count: count)
        }
        #expect(dx == zip(y, dy).map { $0 > 0 ? $1 : 0 })
    }
}
