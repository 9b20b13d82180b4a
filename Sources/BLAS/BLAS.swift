import COpenBLAS

/// The only door to OpenBLAS. Everything above this module speaks in row-major `Float` buffers and
/// never sees a CBLAS enum, so the C dependency could be swapped (Accelerate, BLIS) in one file.
public enum BLAS {
    /// Row-major single-precision GEMM: `C = alpha · op(A) · op(B) + beta · C`.
    ///
    /// `op(A)` is `[m, k]`, `op(B)` is `[k, n]`, `C` is `[m, n]`; `lda`, `ldb`, `ldc` are the row
    /// strides of the stored (untransposed) matrices.
    @inlinable
    public static func sgemm(
        transA: Bool = false, transB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "sgemm: negative dimension m=\(m) n=\(n) k=\(k)")
        if m == 0 || n == 0 { return }
        cblas_sgemm(
            CblasRowMajor,
            transA ? CblasTrans : CblasNoTrans,
            transB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k),
            alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }

    /// Row-major single-precision GEMV: `y = alpha · op(A) · x + beta · y`, `A` stored `[m, n]` with
    /// row stride `lda`; `op(A)` is `A` (x has n entries, y m) or, with `transA`, `Aᵀ` (x m, y n).
    ///
    /// A dense layer at batch 1 is a GEMV: sgemm with one row packs the whole weight matrix first,
    /// which for a 512 → 1000 head costs more than the product.
    @inlinable
    public static func sgemv(
        transA: Bool = false, m: Int, n: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, x: UnsafePointer<Float>,
        beta: Float = 0, y: UnsafeMutablePointer<Float>
    ) {
        precondition(m >= 0 && n >= 0, "sgemv: negative dimension m=\(m) n=\(n)")
        if m == 0 || n == 0 { return }
        cblas_sgemv(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, blasint(m), blasint(n),
                    alpha, a, blasint(lda), x, 1, beta, y, 1)
    }

    /// The number of threads OpenBLAS itself may use inside one call.
    ///
    /// The engine parallelises above BLAS (each worker calls single-threaded sgemm on its own slice),
    /// so this is normally 1; the benchmark raises it only to measure the machine's sgemm ceiling.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// Cores OpenBLAS detected on this machine.
    public static var processorCount: Int { Int(openblas_get_num_procs()) }

    /// OpenBLAS's build description (version, kernel architecture), for benchmark reports.
    public static var configuration: String {
        guard let raw = openblas_get_config() else { return "unknown" }
        return String(cString: raw)
    }

    /// The CPU kernel OpenBLAS selected at run time (e.g. "Haswell", "Zen").
    public static var coreName: String {
        guard let raw = openblas_get_corename() else { return "unknown" }
        return String(cString: raw)
    }
}
