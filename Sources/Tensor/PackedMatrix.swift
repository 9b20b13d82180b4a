import CKernels

/// A matrix A [m, k] packed once into CKernels' micro-kernel panels, for `c = A·b` with any b:
/// convolution weights are packed when a model version is planned, never per call.
public final class PackedMatrix: @unchecked Sendable {
    public let rows: Int
    public let columns: Int
    private let storage: FloatBuffer

    /// a [rows, columns] with row stride `lda` (default `columns`).
    public init(_ a: UnsafePointer<Float>, rows: Int, columns: Int, lda: Int? = nil) {
        precondition(rows > 0 && columns >= 0, "PackedMatrix needs rows > 0, got \(rows)×\(columns)")
        self.rows = rows
        self.columns = columns
        storage = FloatBuffer(count: bk_packed_a_floats(Int32(rows), Int32(columns)))
        bk_pack_a(Int32(rows), Int32(columns), a, lda ?? columns, storage.pointer)
    }

    /// Floats of workspace `multiply` needs at `level`.
    public static func workspaceCount(level: KernelLevel = .current) -> Int { bk_gemm_workspace_floats(level.raw) }

    /// c [rows, n] (ldc) = (accumulate ? c : 0) + A·b, b [columns, n] (ldb), then the epilogue with
    /// the residual read at row stride `residualStride`. Single-threaded. With `rowRange` (its start
    /// a multiple of `BK_MR`), only those rows of A: `c`, the bias and the residual still point at
    /// row 0, so workers can split one product by rows. With `workspace` nil, b is read where it
    /// lies (`bk_gemm_in_place`): ldb at least `inPlaceStride(n)` and b `columns · ldb` floats.
    public func multiply(
        _ b: UnsafePointer<Float>, ldb: Int, n: Int, into c: UnsafeMutablePointer<Float>, ldc: Int,
        accumulate: Bool = false, epilogue: Epilogue = .none, residualStride: Int = 0,
        rowRange: Range<Int>? = nil, workspace: UnsafeMutablePointer<Float>?, level: KernelLevel = .current
    ) {
        let range = rowRange ?? 0..<rows
        precondition(range.lowerBound % Int(BK_MR) == 0 && range.upperBound <= rows, "row range \(range) is not panel-aligned")
        guard !range.isEmpty else { return }
        let first = range.lowerBound
        var ep = bk_epilogue(bias: epilogue.bias.map { $0 + first }, residual: epilogue.residual.map { $0 + first * residualStride },
                             ldr: residualStride, relu: epilogue.relu ? 1 : 0)
        let a = storage.pointer + first * columns, m = Int32(range.count)
        if let workspace {
            bk_gemm(level.raw, m, Int32(n), Int32(columns), a, b, ldb, c + first * ldc, ldc, accumulate ? 1 : 0, &ep, workspace)
        } else {
            precondition(ldb >= Self.inPlaceStride(n), "an in-place b needs ldb ≥ \(Self.inPlaceStride(n)), got \(ldb)")
            bk_gemm_in_place(level.raw, m, Int32(n), Int32(columns), a, b, ldb, c + first * ldc, ldc, accumulate ? 1 : 0, &ep)
        }
    }

    /// The least row stride of a b that `multiply` reads in place: n rounded up to the widest tile.
    public static func inPlaceStride(_ n: Int) -> Int {
        let tile = Int(BK_GEMM_IN_PLACE_COLUMNS)
        return (n + tile - 1) / tile * tile
    }
}

extension Convolution {
    /// Output columns per chunk on the packed path. The GEMM copies each chunk's columns into panels
    /// once more, so the unfolded chunk and that copy must fit in L2 together: half of
    /// `chunkColumns`' budget (the 7×7 stem: 320 columns instead of 656).
    static func packedChunkColumns(_ g: ConvGeometry) -> Int {
        max(64, min(2048, (48 * 1024) / max(g.patchSize, 1)) & ~15)
    }

    /// Like `forward`, with the weight packed once ([OC, C·KH·KW]) and the bias/residual/ReLU
    /// epilogue applied inside the GEMM as each tile of the output is finished.
    public static func forward(
        _ g: ConvGeometry, batch: Int,
        input: UnsafePointer<Float>, packedWeight weight: PackedMatrix,
        epilogue: Epilogue = .none,
        output: UnsafeMutablePointer<Float>,
        pool: ComputePool, scratch: [ScratchBuffer], level: KernelLevel = .current
    ) {
        precondition(weight.rows == g.outChannels && weight.columns == g.patchSize,
                     "packed weight is \(weight.rows)×\(weight.columns), the convolution needs \(g.outChannels)×\(g.patchSize)")
        let total = batch * g.outputPlane, k = g.patchSize
        let chunk = packedChunkColumns(g), workspace = PackedMatrix.workspaceCount(level: level)
        if pool.threads > 1 && total <= 1024 && g.outChannels >= 12 * pool.threads {
            forwardSplittingChannels(g, batch: batch, input: input, packedWeight: weight, epilogue: epilogue,
                                     output: output, pool: pool, scratch: scratch, level: level)
            return
        }
        pool.forEachRange(total, granularity: 16) { worker, range in
            let buffer = scratch[worker].reserve(workspace + (g.isPointwise ? 0 : k * chunk))
            var j0 = range.lowerBound
            while j0 < range.upperBound {
                let j1 = min(j0 + chunk, range.upperBound)
                let n = j1 - j0
                var part = epilogue
                part.residual = epilogue.residual.map { $0 + j0 }
                if g.isPointwise {
                    weight.multiply(input + j0, ldb: total, n: n, into: output + j0, ldc: total, epilogue: part,
                                    residualStride: total, workspace: buffer, level: level)
                } else {
                    let col = buffer + workspace
                    Im2col.unfold(g, batch: batch, input: input, columns: j0..<j1, into: col, level: level)
                    weight.multiply(col, ldb: n, n: n, into: output + j0, ldc: total, epilogue: part,
                                    residualStride: total, workspace: buffer, level: level)
                }
                j0 = j1
            }
        }
    }
}

extension Convolution {
    /// Few output columns (batch 1, late layers): splitting the columns would make every worker
    /// stream the whole weight matrix, which is then the cost. Instead the patch matrix is unfolded
    /// once (in blocks, by all workers), and each worker multiplies its share of the output channels.
    static func forwardSplittingChannels(
        _ g: ConvGeometry, batch: Int, input: UnsafePointer<Float>, packedWeight weight: PackedMatrix,
        epilogue: Epilogue, output: UnsafeMutablePointer<Float>, pool: ComputePool, scratch: [ScratchBuffer],
        level: KernelLevel
    ) {
        let total = batch * g.outputPlane, k = g.patchSize, block = 64
        // Each block is read in place by every worker's GEMM, so no worker copies it into panels
        // again; a row stride of 80, not 64, keeps a block's rows off a few cache sets.
        let stride = PackedMatrix.inPlaceStride(block) + 16
        let workspace = g.isPointwise ? PackedMatrix.workspaceCount(level: level) : 0
        let blocks = g.isPointwise ? 1 : (total + block - 1) / block
        let shared = scratch[0].reserve(workspace + (g.isPointwise ? 0 : k * stride * blocks))
        let columns = shared + workspace
        if !g.isPointwise {
            // Block b holds columns [b·64, …) as a [k, n_b] matrix (row stride 80) at k·80·b. It is unfolded
            // in units of (block, channel group): group i's input channels fill their own rows,
            // c0·KH·KW ..< c1·KH·KW. With fewer blocks than workers (batch 1's 7×7 layers are one
            // block) the channels are split too, so no worker waits while another unfolds; the units
            // come to a multiple of the workers, so each gets the same share.
            let groups = min(g.inChannels, pool.threads / gcd(blocks, pool.threads))
            let taps = g.kernelHeight * g.kernelWidth
            pool.forEachRange(blocks * groups) { _, range in
                for unit in range {
                    let b = unit / groups, group = unit % groups
                    let j0 = b * block, j1 = min(j0 + block, total)
                    let c0 = g.inChannels * group / groups, c1 = g.inChannels * (group + 1) / groups
                    var part = g
                    part.inChannels = c1 - c0
                    Im2col.unfold(part, batch: batch, input: input + c0 * batch * g.inputPlane, columns: j0..<j1,
                                  into: columns + k * stride * b + c0 * taps * stride, rowStride: stride, level: level)
                }
            }
        }
        let mr = Int(BK_MR), panels = (g.outChannels + mr - 1) / mr
        pool.forEachRange(panels) { worker, range in
            let rows = (range.lowerBound * mr)..<min(range.upperBound * mr, g.outChannels)
            let buffer = worker == 0 ? shared : scratch[worker].reserve(workspace)
            for b in 0..<blocks {
                let j0 = g.isPointwise ? 0 : b * block, j1 = g.isPointwise ? total : min(j0 + block, total)
                var part = epilogue
                part.residual = epilogue.residual.map { $0 + j0 }
                if g.isPointwise {
                    weight.multiply(input, ldb: total, n: total, into: output, ldc: total, epilogue: part,
                                    residualStride: total, rowRange: rows, workspace: buffer, level: level)
                } else {
                    weight.multiply(columns + k * stride * b, ldb: stride, n: j1 - j0, into: output + j0, ldc: total,
                                    epilogue: part, residualStride: total, rowRange: rows, workspace: nil, level: level)
                }
            }
        }
    }
}

private func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
