import CKernels
import Testing
@testable import Tensor

/// BatchNorm's CKernels passes at every level this machine runs, against the naive references, on
/// lengths that are not multiples of any vector width and that cross the kernels' summing blocks
/// (1024 values), with and without a fused ReLU's mask.
@Suite struct NormalizationTests {
    static let counts = [1, 7, 37, 1031, 5000]

    @Test(arguments: counts)
    func statisticsMatchReference(count: Int) {
        // An offset mean, so Σ (x − mean)² only comes out right if the mean is subtracted first.
        let x = randomArray(count, seed: 61, scale: 3).map { $0 + 40 }
        var sum = 0.0, squares = 0.0
        bk_reference_norm_statistics(x, count, &sum, &squares)
        for level in KernelLevel.supported {
            let got = Normalization.statistics(x, count: count, level: level)
            #expect(abs(got.sum - sum) <= 1e-5 * abs(sum), "level \(level) count \(count): Σ x \(got.sum) vs \(sum)")
            #expect(abs(got.squares - squares) <= 1e-3 * squares + 1e-6,
                    "level \(level) count \(count): Σ (x − mean)² \(got.squares) vs \(squares)")
        }
    }

    @Test(arguments: counts)
    func applyMatchesReference(count: Int) {
        let x = randomArray(count, seed: 62, scale: 2)
        for relu in [false, true] {
            let expected = [Float](repeating: .nan, count: count).withBuffer {
                bk_reference_norm_apply(x, count, 1.5, -0.25, relu ? 1 : 0, $0)
            }
            for level in KernelLevel.supported {
                let y = [Float](repeating: .nan, count: count).withBuffer {
                    Normalization.apply(x, count: count, scale: 1.5, shift: -0.25, relu: relu, into: $0, level: level)
                }
                #expect(relativeError(y, expected) < 1e-6, "level \(level) count \(count) relu \(relu)")
            }
        }
    }

    @Test(arguments: counts)
    func gradientsMatchReference(count: Int) {
        let dy = randomArray(count, seed: 63), x = randomArray(count, seed: 64, scale: 2)
        let mask = randomArray(count, seed: 65)  // about half the lanes ≤ 0
        for useMask in [false, true] {
            mask.withUnsafeBufferPointer { maskBuffer in
                let m = useMask ? maskBuffer.baseAddress : nil
                var sum = 0.0, weighted = 0.0
                bk_reference_norm_gradient_sums(dy, x, m, count, 0.1, &sum, &weighted)
                let expected = [Float](repeating: .nan, count: count).withBuffer {
                    bk_reference_norm_input_gradient(dy, x, m, count, 0.7, 0.05, 0.1, 0.3, $0)
                }
                for level in KernelLevel.supported {
                    let got = Normalization.gradientSums(dy, x, mean: 0.1, mask: m, count: count, level: level)
                    #expect(abs(got.sum - sum) < 1e-4 * Double(count).squareRoot(), "level \(level) count \(count) mask \(useMask)")
                    #expect(abs(got.weighted - weighted) < 1e-4 * Double(count).squareRoot(),
                            "level \(level) count \(count) mask \(useMask)")
                    let dx = [Float](repeating: .nan, count: count).withBuffer {
                        Normalization.inputGradient(dy, x, mask: m, count: count, k: 0.7, meanG: 0.05, mean: 0.1,
                                                    slope: 0.3, into: $0, level: level)
                    }
                    #expect(relativeError(dx, expected) < 1e-5, "level \(level) count \(count) mask \(useMask)")
                }
            }
        }
    }
}
