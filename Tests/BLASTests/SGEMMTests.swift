import BLAS
import Testing

/// sgemm against a triple loop, for every transpose combination and non-square, padded strides.
@Suite struct SGEMMTests {
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func matchesNaiveProduct(transA: Bool, transB: Bool) {
        let (m, n, k) = (5, 7, 3)
        let lda = (transA ? m : k) + 2, ldb = (transB ? k : n) + 1, ldc = n + 3
        let aRows = transA ? k : m, bRows = transB ? n : k
        var state: UInt32 = 12345
        func next() -> Float { state = state &* 1_664_525 &+ 1_013_904_223; return Float(state >> 8) / Float(1 << 24) - 0.5 }
        let a = (0..<(aRows * lda)).map { _ in next() }
        let b = (0..<(bRows * ldb)).map { _ in next() }
        var c = (0..<(m * ldc)).map { _ in next() }
        let c0 = c
        c.withUnsafeMutableBufferPointer { cp in
            BLAS.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1.5,
                       a: a, lda: lda, b: b, ldb: ldb, beta: 0.5, c: cp.baseAddress!, ldc: ldc)
        }
        for i in 0..<m {
            for j in 0..<n {
                var sum: Float = 0
                for p in 0..<k {
                    let av = transA ? a[p * lda + i] : a[i * lda + p]
                    let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                    sum += av * bv
                }
                let expected = 1.5 * sum + 0.5 * c0[i * ldc + j]
                #expect(abs(c[i * ldc + j] - expected) < 1e-5)
            }
            for j in n..<ldc { #expect(c[i * ldc + j] == c0[i * ldc + j], "padding must stay untouched") }
        }
    }

    @Test(arguments: [false, true])
    func sgemvMatchesNaiveProduct(transA: Bool) {
        let (m, n, lda) = (9, 13, 16)
        var state: UInt32 = 777
        func next() -> Float { state = state &* 1_664_525 &+ 1_013_904_223; return Float(state >> 8) / Float(1 << 24) - 0.5 }
        let a = (0..<(m * lda)).map { _ in next() }
        let x = (0..<(transA ? m : n)).map { _ in next() }
        var y = (0..<(transA ? n : m)).map { _ in next() }
        let y0 = y
        y.withUnsafeMutableBufferPointer { yp in
            BLAS.sgemv(transA: transA, m: m, n: n, alpha: 2, a: a, lda: lda, x: x, beta: 0.25, y: yp.baseAddress!)
        }
        for i in 0..<y.count {
            var sum: Float = 0
            for p in 0..<x.count { sum += (transA ? a[p * lda + i] : a[i * lda + p]) * x[p] }
            #expect(abs(y[i] - (2 * sum + 0.25 * y0[i])) < 1e-5)
        }
    }

    @Test func threadKnobIsHonoured() {
        let before = BLAS.threads
        BLAS.threads = 1
        #expect(BLAS.threads == 1)
        BLAS.threads = before
    }
}
