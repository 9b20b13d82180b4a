import BLAS

/// What happens to a convolution's output while it is still in cache: `relu(x + bias + residual)`.
/// Fusing these saves one full pass over the activation per layer.
public struct Epilogue {
    /// [OC], added to every output pixel of that channel.
    public var bias: UnsafePointer<Float>?
    /// [OC, N·OH·OW], same layout as the output (ResNet shortcut).
    public var residual: UnsafePointer<Float>?
    public var relu: Bool

    public init(bias: UnsafePointer<Float>? = nil, residual: UnsafePointer<Float>? = nil, relu: Bool = false) {
        self.bias = bias
        self.residual = residual
        self.relu = relu
    }

    public static var none: Epilogue { Epilogue() }

    /// Writes one finished output row (bias already added): `dst = relu?(row + residual)`. The
    /// Winograd output transforms finish a row of tiles at a time and store it through here.
    @inline(__always)
    func store(_ row: UnsafePointer<Float>, count w: Int, into dst: UnsafeMutablePointer<Float>,
               residual res: UnsafePointer<Float>?) {
        if let res {
            if relu {
                for x in 0..<w { dst[x] = max(row[x] + res[x], 0) }
            } else {
                for x in 0..<w { dst[x] = row[x] + res[x] }
            }
        } else if relu {
            for x in 0..<w { dst[x] = max(row[x], 0) }
        } else {
            dst.update(from: row, count: w)
        }
    }

    /// Applies the epilogue to columns `range` of output [OC, total].
    @inline(__always)
    func apply(_ output: UnsafeMutablePointer<Float>, channels: Int, total: Int, range: Range<Int>) {
        if bias == nil && residual == nil && !relu { return }
        for oc in 0..<channels {
            let row = output + oc * total
            let b = bias?[oc] ?? 0
            if let residual {
                let res = residual + oc * total
                if relu {
                    for j in range { row[j] = max(row[j] + b + res[j], 0) }
                } else {
                    for j in range { row[j] += b + res[j] }
                }
            } else if relu {
                for j in range { row[j] = max(row[j] + b, 0) }
            } else if b != 0 {
                for j in range { row[j] += b }
            }
        }
    }
}

/// Convolution via im2col + sgemm, for any kernel, stride and padding.
///
/// Work is split over output columns (`n·OH·OW + oh·OW + ow`), each worker unfolding chunks of its
/// range into its own scratch and calling single-threaded sgemm, so batch 1 parallelises as well
/// as batch 32 and no two workers touch the same memory.
public enum Convolution {
    /// Output columns per GEMM call: wide enough for sgemm to reach its peak, small enough for the
    /// unfolded patch matrix to stay in L2.
    static func chunkColumns(_ g: ConvGeometry) -> Int {
        max(64, min(2048, (96 * 1024) / max(g.patchSize, 1)) & ~15)
    }

    /// input [C, N, H, W]; weight [OC, C·KH·KW]; output [OC, N, OH, OW].
    public static func forward(
        _ g: ConvGeometry, batch: Int,
        input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        epilogue: Epilogue = .none,
        output: UnsafeMutablePointer<Float>,
        pool: ComputePool, scratch: [ScratchBuffer]
    ) {
        let total = batch * g.outputPlane, k = g.patchSize
        let chunk = chunkColumns(g)
        pool.forEachRange(total, granularity: 16) { worker, range in
            var j0 = range.lowerBound
            while j0 < range.upperBound {
                let j1 = min(j0 + chunk, range.upperBound)
                let n = j1 - j0
                if g.isPointwise {
                    BLAS.sgemm(m: g.outChannels, n: n, k: k, a: weight, lda: k,
                               b: input + j0, ldb: total, c: output + j0, ldc: total)
                } else {
                    let col = scratch[worker].reserve(k * n)
                    Im2col.unfold(g, batch: batch, input: input, columns: j0..<j1, into: col)
                    BLAS.sgemm(m: g.outChannels, n: n, k: k, a: weight, lda: k,
                               b: col, ldb: n, c: output + j0, ldc: total)
                }
                epilogue.apply(output, channels: g.outChannels, total: total, range: j0..<j1)
                j0 = j1
            }
        }
    }

    /// gradOutput [OC, N, OH, OW]; weight [OC, C·KH·KW]; gradInput [C, N, H, W] (overwritten).
    public static func backwardData(
        _ g: ConvGeometry, batch: Int,
        gradOutput: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        gradInput: UnsafeMutablePointer<Float>,
        pool: ComputePool, scratch: [ScratchBuffer]
    ) {
        let total = batch * g.outputPlane, k = g.patchSize
        if g.isPointwise {
            pool.forEachRange(total, granularity: 16) { _, range in
                BLAS.sgemm(transA: true, m: k, n: range.count, k: g.outChannels, a: weight, lda: k,
                           b: gradOutput + range.lowerBound, ldb: total,
                           c: gradInput + range.lowerBound, ldc: total)
            }
            return
        }
        gradInput.update(repeating: 0, count: g.inChannels * batch * g.inputPlane)
        let chunk = chunkColumns(g)
        // Whole images per worker: col2im of neighbouring columns adds into shared pixels.
        pool.forEachRange(total, granularity: g.outputPlane) { worker, range in
            var j0 = range.lowerBound
            while j0 < range.upperBound {
                let j1 = min(j0 + chunk, range.upperBound)
                let n = j1 - j0
                let col = scratch[worker].reserve(k * n)
                BLAS.sgemm(transA: true, m: k, n: n, k: g.outChannels, a: weight, lda: k,
                           b: gradOutput + j0, ldb: total, c: col, ldc: n)
                Im2col.fold(g, batch: batch, col: col, columns: j0..<j1, into: gradInput)
                j0 = j1
            }
        }
    }

    /// input [C, N, H, W]; gradOutput [OC, N, OH, OW]; gradWeight [OC, C·KH·KW] (accumulated into).
    /// `partials` holds one [OC, C·KH·KW] buffer per worker beyond the first; they are summed at the end.
    public static func backwardWeight(
        _ g: ConvGeometry, batch: Int,
        input: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
        gradWeight: UnsafeMutablePointer<Float>,
        pool: ComputePool, scratch: [ScratchBuffer], partials: [ScratchBuffer]
    ) {
        let total = batch * g.outputPlane, k = g.patchSize, size = g.outChannels * k
        let chunk = chunkColumns(g)
        let counter = UnsafeMutablePointer<Int>.allocate(capacity: pool.threads)
        counter.initialize(repeating: 0, count: pool.threads)
        defer { counter.deallocate() }
        pool.forEachRange(total, granularity: 16) { worker, range in
            counter[worker] = 1
            let target: UnsafeMutablePointer<Float>
            if worker == 0 {
                target = gradWeight
            } else {
                target = partials[worker - 1].reserve(size)
                target.update(repeating: 0, count: size)
            }
            var j0 = range.lowerBound
            while j0 < range.upperBound {
                let j1 = min(j0 + chunk, range.upperBound)
                let n = j1 - j0
                if g.isPointwise {
                    BLAS.sgemm(transB: true, m: g.outChannels, n: k, k: n, a: gradOutput + j0, lda: total,
                               b: input + j0, ldb: total, beta: 1, c: target, ldc: k)
                } else {
                    let col = scratch[worker].reserve(k * n)
                    Im2col.unfold(g, batch: batch, input: input, columns: j0..<j1, into: col)
                    BLAS.sgemm(transB: true, m: g.outChannels, n: k, k: n, a: gradOutput + j0, lda: total,
                               b: col, ldb: n, beta: 1, c: target, ldc: k)
                }
                j0 = j1
            }
        }
        for w in 1..<max(pool.threads, 1) where counter[w] == 1 {
            let partial = partials[w - 1].reserve(size)
            for i in 0..<size { gradWeight[i] += partial[i] }
        }
    }

    /// Sum of gradOutput [OC, N·OH·OW] over its columns, added into gradBias [OC].
    public static func backwardBias(
        channels: Int, columns: Int, gradOutput: UnsafePointer<Float>, gradBias: UnsafeMutablePointer<Float>
    ) {
        for oc in 0..<channels {
            let row = gradOutput + oc * columns
            var sum: Float = 0
            for j in 0..<columns { sum += row[j] }
            gradBias[oc] += sum
        }
    }
}
