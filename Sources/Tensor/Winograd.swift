import BLAS
import CKernels

/// The pieces of a Swift Winograd F(m×m, 3×3) variant (Lavin & Gray 2016) that the generic weight
/// gradient uses: the input and gradient transforms, each working on whole tile rows so their inner
/// loops run contiguously over tiles, and the weight-transform matrix G. F(2×2) conforms; F(4×4)
/// runs entirely in CKernels (forward and weight gradient).
protocol WinogradTransforms {
    /// Output tile side m; input tiles are (m + 2)².
    static var tile: Int { get }
    /// G, (m + 2) × 3: U = G·g·Gᵀ.
    static var g: [[Float]] { get }
    /// input [C, N, H, W] → V [α², C, tiles] for the tiles of `tileRows`.
    static func transformInput(_ g: ConvGeometry, batch: Int, input: UnsafePointer<Float>, tileRows: Range<Int>,
                               tiling: Winograd.Tiling, into v: UnsafeMutablePointer<Float>, rows: UnsafeMutablePointer<Float>)
    /// gradOutput [OC, N, H, W] → A·∂Y·Aᵀ [α², OC, tiles].
    static func transformGradient(_ g: ConvGeometry, batch: Int, gradOutput: UnsafePointer<Float>, tileRows: Range<Int>,
                                  tiling: Winograd.Tiling, into out: UnsafeMutablePointer<Float>, rows: UnsafeMutablePointer<Float>)
}

/// Winograd convolution for "same" 3×3 stride-1 layers.
///
/// An m×m output tile costs (m+2)² multiplies per (input, output) channel pair instead of 9·m²:
/// the convolution becomes (m+2)² independent GEMMs `M[ξ] = U[ξ] · V[ξ]` ([OC, C] × [C, tiles])
/// between transformed weights `U = G·g·Gᵀ` and transformed input tiles `V = Bᵀ·d·B`, followed by
/// the output transform `Y = Aᵀ·M·A`. F(2×2) saves 2.25× the multiplications, F(4×4) 4×, at
/// the price of larger transforms and (for F(4×4)) a little more rounding error. The weight
/// gradient is the same GEMMs transposed: `∂U[ξ] = Σ_tiles (A·∂Y·Aᵀ)[ξ] · V[ξ]ᵀ`, `∂g = Gᵀ·∂U·G`.
/// The data gradient is the forward pass of the adjoint convolution (`adjointWeights`).
///
/// Work is split over tile rows (one row of tiles of one image); each worker transforms a chunk
/// of rows into its own scratch, runs the GEMMs and transforms back. F(4×4) does all three in
/// CKernels at the CPU's vector width with weights transformed and packed once
/// (`transformWeights`); F(2×2) uses the Swift transforms and single-threaded sgemm.
public enum Winograd {
    public enum Variant: String, Sendable, CaseIterable, Codable {
        case f2x2
        case f4x4

        public var outputTile: Int { self == .f2x2 ? 2 : 4 }
        /// α²: the number of GEMMs, (m + 2)².
        public var points: Int { (outputTile + 2) * (outputTile + 2) }
        /// Floats `transformWeights` writes: α² matrices [OC, C], packed into the GEMM kernel's panels for F(4×4).
        public func transformedWeightCount(outChannels: Int, inChannels: Int) -> Int {
            switch self {
            case .f2x2: points * outChannels * inChannels
            case .f4x4: bk_winograd_f4_weight_floats(Int32(outChannels), Int32(inChannels))
            }
        }
    }

    struct Tiling {
        let tile: Int
        let tilesHigh: Int, tilesWide: Int
        let rowsPerChunk: Int
        let points: Int

        init(_ g: ConvGeometry, tile: Int) {
            self.tile = tile
            points = (tile + 2) * (tile + 2)
            tilesHigh = (g.height + tile - 1) / tile
            tilesWide = (g.width + tile - 1) / tile
            // Keep a chunk's transformed input and output within about 1 MiB.
            let chunkTiles = max(16, min(1024, (256 * 1024) / (points * (g.inChannels + g.outChannels))))
            rowsPerChunk = max(1, chunkTiles / tilesWide)
        }

        var chunkCapacity: Int { rowsPerChunk * tilesWide }
        /// Per-row scratch for the transforms: up to 12 phase-split rows and one padded copy.
        var rowScratch: Int { 13 * (tile * (tilesWide + 1) + 16) }
    }

    /// Loads the `tile + 2` input rows under tile row `ty` (starting one row above it, zero outside
    /// the image) into consecutive phase-split rows of `tile · phaseLength` floats each, as both
    /// input transforms read them: `rows[i][k·phaseLength + j] = image[ty·tile − 1 + i][tile·j + k − 1]`.
    @inline(__always)
    static func loadPhaseRows(_ image: UnsafePointer<Float>, height h: Int, width w: Int, tileRow ty: Int,
                              tile: Int, phaseLength: Int, into rows: UnsafeMutablePointer<Float>) {
        let rowLength = tile * phaseLength
        for i in 0..<(tile + 2) {
            let dst = rows + i * rowLength, y = ty * tile - 1 + i
            guard y >= 0 && y < h else { dst.update(repeating: 0, count: rowLength); continue }
            deinterleave(image + y * w, width: w, phases: tile, length: phaseLength, into: dst)
        }
    }

    /// weight [OC, C, 3, 3] → U [α², OC, C], U = G·g·Gᵀ (for F(4×4) each [OC, C] matrix packed
    /// for CKernels' GEMM; `transformedWeightCount` floats either way).
    public static func transformWeights(
        _ variant: Variant = .f2x2, _ weight: UnsafePointer<Float>, outChannels: Int, inChannels: Int,
        into u: UnsafeMutablePointer<Float>
    ) {
        if variant == .f4x4 {
            bk_winograd_f4_pack_weights(Int32(outChannels), Int32(inChannels), weight, u)
            return
        }
        let gm = WinogradF2.g
        let alpha = gm.count, plane = outChannels * inChannels
        var t = [Float](repeating: 0, count: alpha * 3)
        for k in 0..<plane {
            let w = weight + k * 9
            for i in 0..<alpha {
                for j in 0..<3 { t[i * 3 + j] = gm[i][0] * w[j] + gm[i][1] * w[3 + j] + gm[i][2] * w[6 + j] }
            }
            for i in 0..<alpha {
                for j in 0..<alpha {
                    u[(i * alpha + j) * plane + k] = t[i * 3] * gm[j][0] + t[i * 3 + 1] * gm[j][1] + t[i * 3 + 2] * gm[j][2]
                }
            }
        }
    }

    /// dU [α², OC, C] → dW [OC, C, 3, 3] added into `gradWeight`: ∂g = Gᵀ·∂U·G.
    static func accumulateWeightGradient(
        _ variant: Variant, _ du: UnsafePointer<Float>, outChannels: Int, inChannels: Int,
        into gradWeight: UnsafeMutablePointer<Float>
    ) {
        let gm = variant == .f2x2 ? WinogradF2.g : WinogradF4.g
        let alpha = gm.count, plane = outChannels * inChannels
        var t = [Float](repeating: 0, count: 3 * alpha)
        for k in 0..<plane {
            for a in 0..<3 {
                for j in 0..<alpha {
                    var sum: Float = 0
                    for i in 0..<alpha { sum += gm[i][a] * du[(i * alpha + j) * plane + k] }
                    t[a * alpha + j] = sum
                }
            }
            let dst = gradWeight + k * 9
            for a in 0..<3 {
                for b in 0..<3 {
                    var sum: Float = 0
                    for j in 0..<alpha { sum += t[a * alpha + j] * gm[j][b] }
                    dst[a * 3 + b] += sum
                }
            }
        }
    }

    /// input [C, N, H, W]; u from `transformWeights(variant, …)`; output [OC, N, H, W]. `level` picks
    /// the CKernels vector width for F(4×4) (tests force each one; serving uses the process's).
    public static func forward(
        _ g: ConvGeometry, variant: Variant = .f2x2, batch: Int,
        input: UnsafePointer<Float>, transformedWeight u: UnsafePointer<Float>,
        epilogue: Epilogue = .none,
        output: UnsafeMutablePointer<Float>,
        pool: ComputePool, scratch: [ScratchBuffer], level: KernelLevel = .current
    ) {
        precondition(g.isWinogradCandidate, "Winograd needs a 3x3 stride-1 pad-1 convolution, got \(g)")
        switch variant {
        case .f2x2: forwardF2(g, batch, input, u, epilogue, output, pool, scratch)
        case .f4x4: forwardF4(g, batch, input, u, epilogue, output, pool, scratch, level)
        }
    }

    private static func forwardF2(
        _ g: ConvGeometry, _ batch: Int, _ input: UnsafePointer<Float>, _ u: UnsafePointer<Float>,
        _ epilogue: Epilogue, _ output: UnsafeMutablePointer<Float>, _ pool: ComputePool, _ scratch: [ScratchBuffer]
    ) {
        let tiling = Tiling(g, tile: 2), c = g.inChannels, oc = g.outChannels, points = tiling.points
        pool.forEachRange(batch * tiling.tilesHigh) { worker, range in
            let capacity = tiling.chunkCapacity
            let buffer = scratch[worker].reserve(points * (c + oc) * capacity + tiling.rowScratch)
            let v = buffer, m = buffer + points * c * capacity, rows = m + points * oc * capacity
            var r0 = range.lowerBound
            while r0 < range.upperBound {
                let r1 = min(r0 + tiling.rowsPerChunk, range.upperBound)
                let count = (r1 - r0) * tiling.tilesWide
                WinogradF2.transformInput(g, batch: batch, input: input, tileRows: r0..<r1, tiling: tiling, into: v, rows: rows)
                for xi in 0..<points {
                    BLAS.sgemm(m: oc, n: count, k: c, a: u + xi * oc * c, lda: c,
                               b: v + xi * c * count, ldb: count, c: m + xi * oc * count, ldc: count)
                }
                WinogradF2.transformOutput(g, batch: batch, m: m, tileRows: r0..<r1, tiling: tiling,
                                           epilogue: epilogue, output: output, rows: rows)
                r0 = r1
            }
        }
    }

    /// CKernels' fused F(4×4): per chunk of tile rows, input transform, 36 GEMMs on the packed
    /// weights and output transform with the epilogue, all in the worker's scratch.
    private static func forwardF4(
        _ g: ConvGeometry, _ batch: Int, _ input: UnsafePointer<Float>, _ u: UnsafePointer<Float>,
        _ epilogue: Epilogue, _ output: UnsafeMutablePointer<Float>, _ pool: ComputePool, _ scratch: [ScratchBuffer],
        _ level: KernelLevel
    ) {
        let c = Int32(g.inChannels), oc = Int32(g.outChannels), h = Int32(g.height), w = Int32(g.width)
        let tilesWide = (g.width + 3) / 4, tilesHigh = (g.height + 3) / 4
        var ep = bk_epilogue(bias: epilogue.bias, residual: epilogue.residual, ldr: 0, relu: epilogue.relu ? 1 : 0)
        // Fewer tiles than output channels (batch 1, late layers): the transformed weights are the
        // bulk of the traffic, so split the channels and let each worker read only its share.
        let tiles = batch * tilesHigh * tilesWide
        if pool.threads > 1 && tiles <= g.outChannels && g.outChannels >= 12 * pool.threads {
            withUnsafePointer(to: &ep) { ep in
                forwardF4SplittingChannels(g, batch, input, u, ep, output, pool, scratch, level)
            }
            return
        }
        // About 640 KiB of transformed tiles and GEMM results per chunk, in whole GEMM panels.
        let rowsPerChunk = Int(bk_winograd_f4_chunk_rows(level.raw, c, oc, w))
        let size = bk_winograd_f4_scratch_floats(level.raw, c, oc, w, Int32(rowsPerChunk))
        withUnsafePointer(to: &ep) { ep in
            pool.forEachRange(batch * tilesHigh) { worker, range in
                let buffer = scratch[worker].reserve(size)
                var r0 = range.lowerBound
                while r0 < range.upperBound {
                    let r1 = min(r0 + rowsPerChunk, range.upperBound)
                    bk_winograd_f4_forward_rows(level.raw, c, oc, h, w, Int32(batch), input, u, ep, output,
                                                Int32(r0), Int32(r1), buffer)
                    r0 = r1
                }
            }
        }
    }

    /// Phase 1: every worker transforms its share of the input channels into one shared V (in
    /// worker 0's scratch, after its own working space); phase 2: each worker runs the GEMMs and
    /// the output transform for its share of the output channels.
    private static func forwardF4SplittingChannels(
        _ g: ConvGeometry, _ batch: Int, _ input: UnsafePointer<Float>, _ u: UnsafePointer<Float>,
        _ ep: UnsafePointer<bk_epilogue>, _ output: UnsafeMutablePointer<Float>, _ pool: ComputePool,
        _ scratch: [ScratchBuffer], _ level: KernelLevel
    ) {
        let c = Int32(g.inChannels), oc = Int32(g.outChannels), h = Int32(g.height), w = Int32(g.width)
        let tileRows = Int32(batch * ((g.height + 3) / 4)), mr = Int(BK_MR)
        let panels = (g.outChannels + mr - 1) / mr
        let share = (panels + pool.threads - 1) / pool.threads * mr
        let own = bk_winograd_f4_split_scratch_floats(level.raw, Int32(share), w, tileRows)
        let v = scratch[0].reserve(own + bk_winograd_f4_split_v_floats(level.raw, c, w, tileRows)) + own
        pool.forEachRange(g.inChannels) { worker, range in
            bk_winograd_f4_input_channels(level.raw, c, Int32(range.lowerBound), Int32(range.upperBound), h, w,
                                          Int32(batch), input, v, scratch[worker].reserve(own))
        }
        pool.forEachRange(panels) { worker, range in
            let o0 = range.lowerBound * mr, o1 = min(range.upperBound * mr, g.outChannels)
            bk_winograd_f4_output_channels(level.raw, c, oc, Int32(o0), Int32(o1), h, w, Int32(batch), v, u, ep,
                                           output, scratch[worker].reserve(own))
        }
    }

    /// input [C, N, H, W]; gradOutput [OC, N, H, W]; gradWeight [OC, C, 3, 3] (accumulated into).
    /// `partials` needs one buffer per worker: each accumulates its own ∂U, summed at the end.
    public static func backwardWeight(
        _ g: ConvGeometry, variant: Variant = .f2x2, batch: Int,
        input: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
        gradWeight: UnsafeMutablePointer<Float>,
        pool: ComputePool, scratch: [ScratchBuffer], partials: [ScratchBuffer], level: KernelLevel = .current
    ) {
        precondition(g.isWinogradCandidate, "Winograd needs a 3x3 stride-1 pad-1 convolution, got \(g)")
        precondition(partials.count >= pool.threads, "Winograd.backwardWeight needs one partial buffer per worker")
        switch variant {
        case .f2x2: backwardWeight(WinogradF2.self, g, batch, input, gradOutput, gradWeight, pool, scratch, partials)
        case .f4x4: backwardWeightF4(g, batch, input, gradOutput, pool, scratch, partials, level)
        }
        // ∂U is unpacked [α², OC, C] whatever layout the forward weights use.
        let du = partials[0].reserve(variant.points * g.outChannels * g.inChannels)
        if variant == .f4x4 {
            bk_winograd_f4_accumulate_weight_gradient(Int32(g.outChannels), Int32(g.inChannels), du, gradWeight)
        } else {
            accumulateWeightGradient(variant, du, outChannels: g.outChannels, inChannels: g.inChannels, into: gradWeight)
        }
    }

    /// CKernels' F(4×4) weight gradient: per chunk of tile rows, both transforms at the CPU's vector
    /// width and the 36 products Ĝ[ξ]·V[ξ]ᵀ, each worker into its own ∂U. Leaves Σ ∂U in `partials[0]`.
    private static func backwardWeightF4(
        _ g: ConvGeometry, _ batch: Int, _ input: UnsafePointer<Float>, _ gradOutput: UnsafePointer<Float>,
        _ pool: ComputePool, _ scratch: [ScratchBuffer], _ partials: [ScratchBuffer], _ level: KernelLevel
    ) {
        let c = Int32(g.inChannels), oc = Int32(g.outChannels), h = Int32(g.height), w = Int32(g.width)
        let tilesHigh = (g.height + 3) / 4
        let size = 36 * g.outChannels * g.inChannels
        let rowsPerChunk = Int(bk_winograd_f4_gradient_chunk_rows(c, oc, w))
        let scratchSize = bk_winograd_f4_weight_gradient_scratch_floats(level.raw, c, oc, w, Int32(rowsPerChunk))
        let workers = min(pool.threads, batch * tilesHigh)
        pool.forEachRange(batch * tilesHigh) { worker, range in
            let buffer = scratch[worker].reserve(scratchSize)
            let du = partials[worker].reserve(size)
            du.update(repeating: 0, count: size)
            var r0 = range.lowerBound
            while r0 < range.upperBound {
                let r1 = min(r0 + rowsPerChunk, range.upperBound)
                bk_winograd_f4_weight_gradient_rows(level.raw, c, oc, h, w, Int32(batch), input, gradOutput,
                                                    Int32(r0), Int32(r1), du, buffer)
                r0 = r1
            }
        }
        sumPartials(partials, workers: workers, size: size, pool: pool)
    }

    /// Leaves Σ ∂U in `partials[0]`.
    private static func backwardWeight<T: WinogradTransforms>(
        _: T.Type, _ g: ConvGeometry, _ batch: Int, _ input: UnsafePointer<Float>, _ gradOutput: UnsafePointer<Float>,
        _ gradWeight: UnsafeMutablePointer<Float>, _ pool: ComputePool, _ scratch: [ScratchBuffer], _ partials: [ScratchBuffer]
    ) {
        let tiling = Tiling(g, tile: T.tile), c = g.inChannels, oc = g.outChannels, points = tiling.points
        let size = points * oc * c
        let workers = min(pool.threads, batch * tiling.tilesHigh)
        pool.forEachRange(batch * tiling.tilesHigh) { worker, range in
            let capacity = tiling.chunkCapacity
            let buffer = scratch[worker].reserve(points * (c + oc) * capacity + tiling.rowScratch)
            let v = buffer, dy = buffer + points * c * capacity, rows = dy + points * oc * capacity
            let du = partials[worker].reserve(size)
            du.update(repeating: 0, count: size)
            var r0 = range.lowerBound
            while r0 < range.upperBound {
                let r1 = min(r0 + tiling.rowsPerChunk, range.upperBound)
                let count = (r1 - r0) * tiling.tilesWide
                T.transformInput(g, batch: batch, input: input, tileRows: r0..<r1, tiling: tiling, into: v, rows: rows)
                T.transformGradient(g, batch: batch, gradOutput: gradOutput, tileRows: r0..<r1, tiling: tiling, into: dy, rows: rows)
                for xi in 0..<points {
                    BLAS.sgemm(transB: true, m: oc, n: c, k: count, a: dy + xi * oc * count, lda: count,
                               b: v + xi * c * count, ldb: count, beta: 1, c: du + xi * oc * c, ldc: c)
                }
                r0 = r1
            }
        }
        sumPartials(partials, workers: workers, size: size, pool: pool)
    }

    /// partials[0] [size] += partials[1 ..< workers], element by element in worker order (so the
    /// result does not depend on the split), sixteen floats at a time and split over the pool: ∂U is
    /// 36·OC·C floats (590,000 at 128 → 128), which a scalar loop summed on one thread.
    static func sumPartials(_ partials: [ScratchBuffer], workers: Int, size: Int, pool: ComputePool) {
        guard workers > 1 else { return }
        let total = partials[0].reserve(size)
        let others = (1..<workers).map { UnsafePointer(partials[$0].reserve(size)) }
        pool.forEachRange(size, granularity: 4096) { _, range in
            var i = range.lowerBound
            while i + 16 <= range.upperBound {
                var sum = SIMD16(loadingFrom: total + i)
                for partial in others { sum += SIMD16(loadingFrom: partial + i) }
                sum.store(to: total + i)
                i += 16
            }
            for i in i..<range.upperBound {
                for partial in others { total[i] += partial[i] }
            }
        }
    }

    /// weight [OC, C, 3, 3] → the weight of the adjoint convolution, [C, OC, 3, 3] rotated 180°.
    /// Backpropagating a same-padded stride-1 3×3 convolution to its input is that convolution, so
    /// the data gradient reuses `forward`.
    public static func adjointWeights(
        _ weight: UnsafePointer<Float>, outChannels: Int, inChannels: Int, into adjoint: UnsafeMutablePointer<Float>
    ) {
        for o in 0..<outChannels {
            for c in 0..<inChannels {
                let src = weight + (o * inChannels + c) * 9
                let dst = adjoint + (c * outChannels + o) * 9
                for k in 0..<9 { dst[k] = src[8 - k] }
            }
        }
    }
}
