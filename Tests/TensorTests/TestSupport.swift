import Tensor

/// Deterministic random arrays for kernel tests.
func randomArray(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var rng = SeededGenerator(seed: seed)
    return (0..<count).map { _ in (rng.nextUniform() * 2 - 1) * scale }
}

/// Largest |a−b| relative to the largest |b| (so tolerances don't depend on output magnitude).
func relativeError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "length mismatch \(a.count) vs \(b.count)")
    var worst: Float = 0, scale: Float = 1e-6
    for i in a.indices {
        worst = max(worst, abs(a[i] - b[i]))
        scale = max(scale, abs(b[i]))
    }
    return worst / scale
}

func scratch(_ pool: ComputePool) -> [ScratchBuffer] { (0..<pool.threads).map { _ in ScratchBuffer() } }

extension Array where Element == Float {
    /// Runs `body` with a mutable pointer to a copy and returns the copy.
    func withBuffer(_ body: (UnsafeMutablePointer<Float>) -> Void) -> [Float] {
        var copy = self
        copy.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
        return copy
    }
}

/// What a convolution kernel writes with the fused epilogue the kernel tests check (bias per output
/// channel, a residual laid out like the output, ReLU) into `residual.count` NaN-filled floats.
func withFusedEpilogue(bias: [Float], residual: [Float],
                       _ run: (Epilogue, UnsafeMutablePointer<Float>) -> Void) -> [Float] {
    [Float](repeating: .nan, count: residual.count).withBuffer { out in
        bias.withUnsafeBufferPointer { b in
            residual.withUnsafeBufferPointer { r in
                run(Epilogue(bias: b.baseAddress, residual: r.baseAddress, relu: true), out)
            }
        }
    }
}

/// What that should be: relu(reference convolution + bias + residual).
func referenceWithFusedEpilogue(_ g: ConvGeometry, batch: Int, input: [Float], weight: [Float], bias: [Float],
                                residual: [Float]) -> [Float] {
    zip(ConvolutionReference.forward(g, batch: batch, input: input, weight: weight, bias: bias), residual)
        .map { max($0 + $1, 0) }
}
