import CKernels
import Testing
@testable import Tensor

/// CKernels at every vector width this machine runs, against naive references, on shapes that are
/// not multiples of the micro-kernel's 6 rows or any vector width, and with part-filled last column
/// panels, which are stored straight from their registers up to the last column: one vector wide
/// (12 × 40 at 8 lanes, 12 × 48 at 16), narrower (12 × 52 at 8 lanes), and between one vector and two
/// (6 × 28 at both widths, 12 × 52 at 16 lanes), or one column past a vector (13 × 49 at 16 lanes).
@Suite struct KernelTests {
    static let gemmShapes: [(m: Int, n: Int, k: Int)] = [
        (1, 1, 1), (5, 7, 3), (6, 16, 27), (13, 33, 300), (64, 129, 64), (7, 600, 577), (3, 2, 0), (12, 40, 9),
        (12, 48, 20), (6, 28, 5), (12, 52, 17),
        // A column tile one column past a vector (LANES + 1 of NR): 49 = 32 + 17 at 16 lanes (7×7 at
        // batch 1, with k past one KC block), 25 = 16 + 9 at 8, 21 = 2·8 + 5 at 4.
        (13, 49, 300), (7, 25, 33), (6, 21, 10),
    ]

    @Test func someLevelRunsAndTheDefaultIsOne() {
        #expect(KernelLevel.supported.contains(.portable))
        #expect(KernelLevel.current.isSupported)
        #expect(KernelLevel.supported.allSatisfy { [4, 8, 16].contains($0.lanes) })
    }

    @Test(arguments: gemmShapes)
    func gemmMatchesReference(shape: (m: Int, n: Int, k: Int)) {
        let (m, n, k) = shape
        let a = randomArray(m * k, seed: 1), b = randomArray(k * n, seed: 2)
        let bias = randomArray(m, seed: 3), residual = randomArray(m * n, seed: 4), start = randomArray(m * n, seed: 5)
        for level in KernelLevel.supported {
            for accumulate in [false, true] {
                for relu in [false, true] {
                    let packed = a.withUnsafeBufferPointer { PackedMatrix($0.baseAddress!, rows: m, columns: k) }
                    let workspace = ScratchBuffer()
                    let out = bias.withUnsafeBufferPointer { bp in
                        residual.withUnsafeBufferPointer { rp in
                            start.withBuffer { c in
                                packed.multiply(b, ldb: n, n: n, into: c, ldc: n, accumulate: accumulate,
                                                epilogue: Epilogue(bias: bp.baseAddress, residual: rp.baseAddress, relu: relu),
                                                residualStride: n,
                                                workspace: workspace.reserve(PackedMatrix.workspaceCount(level: level)),
                                                level: level)
                            }
                        }
                    }
                    let expected = bias.withUnsafeBufferPointer { bp in
                        residual.withUnsafeBufferPointer { rp in
                            start.withBuffer { c in
                                var ep = bk_epilogue(bias: bp.baseAddress, residual: rp.baseAddress, ldr: n, relu: relu ? 1 : 0)
                                bk_reference_gemm(Int32(m), Int32(n), Int32(k), a, k, b, n, c, n, accumulate ? 1 : 0, &ep)
                            }
                        }
                    }
                    #expect(relativeError(out, expected) < 1e-5, "level \(level) \(m)×\(n)×\(k) acc \(accumulate) relu \(relu)")
                }
            }
        }
    }

    /// A sub-matrix: b and c with leading dimensions wider than n, as the convolution chunks use them.
    @Test func gemmHonoursLeadingDimensions() {
        let (m, n, k, ldb, ldc) = (7, 19, 11, 40, 33)
        let a = randomArray(m * k, seed: 6), b = randomArray(k * ldb, seed: 7)
        for level in KernelLevel.supported {
            let packed = a.withUnsafeBufferPointer { PackedMatrix($0.baseAddress!, rows: m, columns: k) }
            let workspace = ScratchBuffer()
            let out = [Float](repeating: .nan, count: m * ldc).withBuffer { c in
                packed.multiply(b, ldb: ldb, n: n, into: c, ldc: ldc,
                                workspace: workspace.reserve(PackedMatrix.workspaceCount(level: level)), level: level)
            }
            for i in 0..<m {
                for j in 0..<ldc {
                    if j < n {
                        var sum: Float = 0
                        for p in 0..<k { sum += a[i * k + p] * b[p * ldb + j] }
                        #expect(abs(out[i * ldc + j] - sum) < 1e-4, "level \(level) [\(i), \(j)]")
                    } else {
                        #expect(out[i * ldc + j].isNaN, "level \(level) wrote past n at [\(i), \(j)]")
                    }
                }
            }
        }
    }

    static let convolutionShapes: [ConvGeometry] = [
        ConvGeometry(inChannels: 3, outChannels: 4, height: 7, width: 9, kernel: 3, stride: 1, padding: 1),
        ConvGeometry(inChannels: 2, outChannels: 5, height: 8, width: 8, kernel: 3, stride: 2, padding: 1),
        ConvGeometry(inChannels: 4, outChannels: 7, height: 6, width: 5, kernel: 1, stride: 1, padding: 0),
        ConvGeometry(inChannels: 3, outChannels: 13, height: 11, width: 10, kernel: 7, stride: 2, padding: 3),
        // Few columns and many channels: two workers split the output channels instead of the columns.
        ConvGeometry(inChannels: 5, outChannels: 31, height: 9, width: 7, kernel: 3, stride: 1, padding: 1),
        ConvGeometry(inChannels: 6, outChannels: 29, height: 5, width: 5, kernel: 1, stride: 1, padding: 0),
        // One block of columns (3 × 20 ≤ 64): the patch matrix is unfolded by input channels.
        ConvGeometry(inChannels: 7, outChannels: 27, height: 4, width: 5, kernel: 3, stride: 1, padding: 1),
        // Two blocks (126 columns) and enough channels for four workers: at 3 and 4 threads each
        // block is unfolded in channel groups of unequal size (9 channels in 3 or 2).
        ConvGeometry(inChannels: 9, outChannels: 50, height: 6, width: 7, kernel: 3, stride: 1, padding: 1),
    ]

    /// Three and four threads reach the unfold's (block, channel group) units that two cannot.
    @Test(arguments: convolutionShapes, [1, 2, 3, 4])
    func packedConvolutionMatchesReference(g: ConvGeometry, threads: Int) {
        let batch = 3
        let input = randomArray(g.inChannels * batch * g.inputPlane, seed: 8)
        let weight = randomArray(g.outChannels * g.patchSize, seed: 9)
        let bias = randomArray(g.outChannels, seed: 10)
        let residual = randomArray(g.outChannels * batch * g.outputPlane, seed: 11)
        let packed = weight.withUnsafeBufferPointer { PackedMatrix($0.baseAddress!, rows: g.outChannels, columns: g.patchSize) }
        let pool = ComputePool(threads: threads)
        let expected = referenceWithFusedEpilogue(g, batch: batch, input: input, weight: weight, bias: bias, residual: residual)
        for level in KernelLevel.supported {
            let out = withFusedEpilogue(bias: bias, residual: residual) { epilogue, out in
                Convolution.forward(g, batch: batch, input: input, packedWeight: packed, epilogue: epilogue,
                                    output: out, pool: pool, scratch: scratch(pool), level: level)
            }
            #expect(relativeError(out, expected) < 1e-5, "level \(level)")
        }
    }

    /// Winograd F(4×4) runs in CKernels: every level against the direct convolution, with odd
    /// sizes, channel counts that are not multiples of 6 or a vector width, and wide rows. The last
    /// three have fewer tiles than output channels, so the two workers split the channels instead;
    /// the last one's GEMMs are 16 tiles wide, one vector at 16 lanes, read in place. Rows of at most
    /// half a vector of tiles share vectors between tile rows (every width up to 32 at 16 lanes);
    /// at 28 wide a tile row's 28 output columns do not end on a vector boundary.
    @Test(arguments: [(1, 1, 4, 4), (3, 5, 7, 9), (8, 4, 1, 1), (7, 13, 13, 6), (16, 16, 16, 16), (2, 4, 11, 70),
                      (33, 9, 5, 37), (7, 40, 5, 6), (13, 30, 3, 9), (5, 36, 8, 16), (4, 7, 9, 28)])
    func winogradF4MatchesReferenceAtEveryLevel(shape: (c: Int, oc: Int, h: Int, w: Int)) {
        let g = ConvGeometry(inChannels: shape.c, outChannels: shape.oc, height: shape.h, width: shape.w,
                             kernel: 3, stride: 1, padding: 1)
        let batch = 2
        let input = randomArray(g.inChannels * batch * g.inputPlane, seed: 12)
        let weight = randomArray(g.outChannels * g.patchSize, seed: 13)
        let bias = randomArray(g.outChannels, seed: 14)
        let residual = randomArray(g.outChannels * batch * g.outputPlane, seed: 15)
        let u = [Float](repeating: 0, count: Winograd.Variant.f4x4.transformedWeightCount(
            outChannels: g.outChannels, inChannels: g.inChannels)).withBuffer {
            Winograd.transformWeights(.f4x4, weight, outChannels: g.outChannels, inChannels: g.inChannels, into: $0)
        }
        let expected = referenceWithFusedEpilogue(g, batch: batch, input: input, weight: weight, bias: bias, residual: residual)
        let pool = ComputePool(threads: 2)
        for level in KernelLevel.supported {
            let out = withFusedEpilogue(bias: bias, residual: residual) { epilogue, out in
                Winograd.forward(g, variant: .f4x4, batch: batch, input: input, transformedWeight: u, epilogue: epilogue,
                                 output: out, pool: pool, scratch: scratch(pool), level: level)
            }
            #expect(relativeError(out, expected) < 2e-5, "level \(level)")
        }
    }

    /// Chunks of tile rows fill the GEMM's column panels (2 vectors of tiles): a part-filled panel
    /// costs as much as a full one (a 20-tile chunk at 8 lanes computed 32 columns for 20). Within
    /// the 640 KiB budget, whenever some row count fills whole panels the chosen one does.
    @Test func winogradChunksFillWholePanels() {
        for level in KernelLevel.supported {
            let panel = 2 * level.lanes
            for width in [6, 16, 28, 32, 37, 56, 64, 224] {
                for (c, oc) in [(3, 32), (32, 32), (32, 64), (64, 128), (128, 128), (512, 512)] {
                    let rows = Int(bk_winograd_f4_chunk_rows(level.raw, Int32(c), Int32(oc), Int32(width)))
                    let tilesWide = (width + 3) / 4
                    let budget = 160 * 1024 / (36 * (c + oc)) / tilesWide
                    let context = "level \(level) width \(width) c \(c) oc \(oc): \(rows) rows"
                    #expect(rows >= 1 && rows <= max(budget, (panel + tilesWide - 1) / tilesWide), "\(context)")
                    if budget >= 1, (1...budget).contains(where: { $0 * tilesWide % panel == 0 }) {
                        #expect(rows * tilesWide % panel == 0, "\(context)")
                    }
                }
            }
        }
    }

    /// The F(4×4) weight gradient in CKernels, at every level, against the direct-loop reference
    /// (accumulated into a non-zero gradient, split over two workers; scripts/check-kernels-sanitized
    /// runs it in chunks of two tile rows, so several chunks accumulate into one ∂U there). Widths 16
    /// and 28 share vectors between tile rows at 16 lanes.
    @Test(arguments: [(3, 4, 6, 5), (16, 8, 7, 9), (2, 3, 1, 1), (33, 13, 9, 37), (5, 6, 16, 16), (4, 3, 10, 28)])
    func winogradF4WeightGradientAtEveryLevel(shape: (c: Int, oc: Int, h: Int, w: Int)) {
        let g = ConvGeometry(inChannels: shape.c, outChannels: shape.oc, height: shape.h, width: shape.w,
                             kernel: 3, stride: 1, padding: 1)
        let batch = 3
        let input = randomArray(g.inChannels * batch * g.inputPlane, seed: 16)
        let gradOutput = randomArray(g.outChannels * batch * g.outputPlane, seed: 17)
        let expected = ConvolutionReference.backwardWeight(g, batch: batch, input: input, gradOutput: gradOutput)
        let pool = ComputePool(threads: 2)
        for level in KernelLevel.supported {
            let gradWeight = [Float](repeating: 0.25, count: g.outChannels * g.patchSize).withBuffer { gw in
                Winograd.backwardWeight(g, variant: .f4x4, batch: batch, input: input, gradOutput: gradOutput,
                                        gradWeight: gw, pool: pool, scratch: scratch(pool), partials: scratch(pool),
                                        level: level)
            }
            #expect(relativeError(gradWeight, expected.map { $0 + 0.25 }) < 1e-4, "level \(level)")
        }
    }
}
