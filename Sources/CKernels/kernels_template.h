// The kernels, written once over a LANES-wide float vector (clang vector extensions) and compiled
// by kernels_<level>.c with LANES and SUFFIX defined and that level's target attributes in force.
// Everything here is static except the functions named with SUFFIX, so each level is self-contained.
#include "kernels_internal.h"

#define BK_CAT_(a, b) a##_##b
#define BK_CAT(a, b) BK_CAT_(a, b)
#define BK_FN(name) BK_CAT(name, SUFFIX)

typedef float vf __attribute__((vector_size(LANES * 4)));
/// Lane masks and lane indices: a comparison of two vf gives one (all bits set where true).
typedef int vint __attribute__((vector_size(LANES * 4)));

static inline vf vload(const float *p) { vf v; __builtin_memcpy(&v, p, sizeof v); return v; }
static inline void vstore(float *p, vf v) { __builtin_memcpy(p, &v, sizeof v); }
static inline vf vsplat(float x) {
    vf v;
    for (int i = 0; i < LANES; i++) v[i] = x;  // one broadcast instruction
    return v;
}
static inline vf vrelu(vf v) { return __builtin_elementwise_max(v, (vf){0}); }

/// Lanes [lo, hi) of the vector at p, zero elsewhere (0 ≤ lo < hi ≤ LANES). Only p[lo … hi) is
/// read, by a masked load where the level has one, so p may point before or run past the row it
/// reads from; and the vector never goes through memory, so no load waits on narrower stores.
static inline vf vload_lanes(const float *p, int lo, int hi) {
#if (defined(__x86_64__) || defined(__i386__)) && LANES == 16
    return (vf)_mm512_maskz_loadu_ps((__mmask16)(((1u << hi) - 1) & ~((1u << lo) - 1)), p);
#elif (defined(__x86_64__) || defined(__i386__)) && LANES == 8
    vint lane = {0, 1, 2, 3, 4, 5, 6, 7};
    return (vf)_mm256_maskload_ps(p, (__m256i)((lane >= lo) & (lane < hi)));
#else
    vf v = {0};
    for (int i = lo; i < hi; i++) v[i] = p[i];
    return v;
#endif
}

/// The first n lanes of v → p [n] (0 < n ≤ LANES); nothing past p [n − 1] is written.
static inline void vstore_first(float *p, vf v, int n) {
    if (n == LANES) {
        vstore(p, v);
        return;
    }
#if (defined(__x86_64__) || defined(__i386__)) && LANES == 16
    _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1), (__m512)v);
#else
    // AVX2's masked store (vmaskmovps) is microcoded on AMD's cores; n plain moves cost less.
    for (int i = 0; i < n; i++) p[i] = v[i];
#endif
}

/// p [0 … n) in the first n lanes (0 < n ≤ LANES), zero elsewhere; nothing past p [n − 1] is read.
static inline vf vload_first(const float *p, int n) { return n == LANES ? vload(p) : vload_lanes(p, 0, n); }

// Lane shuffles, spelled out per width: EVENS/ODDS pick every other lane of (x, y); ZIP_LO/ZIP_HI
// interleave the low or high halves of x and y lane by lane; ZIP2_LO/ZIP2_HI do the same with pairs
// of lanes.
#if LANES == 4
#define EVENS(x, y) __builtin_shufflevector(x, y, 0, 2, 4, 6)
#define ODDS(x, y) __builtin_shufflevector(x, y, 1, 3, 5, 7)
#define ZIP_LO(x, y) __builtin_shufflevector(x, y, 0, 4, 1, 5)
#define ZIP_HI(x, y) __builtin_shufflevector(x, y, 2, 6, 3, 7)
#define ZIP2_LO(x, y) __builtin_shufflevector(x, y, 0, 1, 4, 5)
#define ZIP2_HI(x, y) __builtin_shufflevector(x, y, 2, 3, 6, 7)
#elif LANES == 8
#define EVENS(x, y) __builtin_shufflevector(x, y, 0, 2, 4, 6, 8, 10, 12, 14)
#define ODDS(x, y) __builtin_shufflevector(x, y, 1, 3, 5, 7, 9, 11, 13, 15)
#define ZIP_LO(x, y) __builtin_shufflevector(x, y, 0, 8, 1, 9, 2, 10, 3, 11)
#define ZIP_HI(x, y) __builtin_shufflevector(x, y, 4, 12, 5, 13, 6, 14, 7, 15)
#define ZIP2_LO(x, y) __builtin_shufflevector(x, y, 0, 1, 8, 9, 2, 3, 10, 11)
#define ZIP2_HI(x, y) __builtin_shufflevector(x, y, 4, 5, 12, 13, 6, 7, 14, 15)
#elif LANES == 16
#define EVENS(x, y) __builtin_shufflevector(x, y, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30)
#define ODDS(x, y) __builtin_shufflevector(x, y, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31)
#define ZIP_LO(x, y) __builtin_shufflevector(x, y, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23)
#define ZIP_HI(x, y) __builtin_shufflevector(x, y, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31)
#define ZIP2_LO(x, y) __builtin_shufflevector(x, y, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23)
#define ZIP2_HI(x, y) __builtin_shufflevector(x, y, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31)
#else
#error "LANES must be 4, 8 or 16"
#endif

/// f = (v0, v1, v2, v3) [4·LANES] → p[k][j] = f[4j + k]: two rounds of even/odd splitting.
static inline void deinterleave4(vf v0, vf v1, vf v2, vf v3, vf *p0, vf *p1, vf *p2, vf *p3) {
    vf e01 = EVENS(v0, v1), o01 = ODDS(v0, v1), e23 = EVENS(v2, v3), o23 = ODDS(v2, v3);
    *p0 = EVENS(e01, e23);
    *p2 = ODDS(e01, e23);
    *p1 = EVENS(o01, o23);
    *p3 = ODDS(o01, o23);
}

/// y0…y3 (lane t = tile t) → f = (f0, f1, f2, f3) [4·LANES] with f[4t + k] = y_k[t], the inverse
/// of deinterleave4.
static inline void interleave4(vf y0, vf y1, vf y2, vf y3, vf f[4]) {
    vf a = ZIP_LO(y0, y1), b = ZIP_HI(y0, y1), c = ZIP_LO(y2, y3), d = ZIP_HI(y2, y3);
    f[0] = ZIP2_LO(a, c);
    f[1] = ZIP2_HI(a, c);
    f[2] = ZIP2_LO(b, d);
    f[3] = ZIP2_HI(b, d);
}

// ---------------------------------------------------------------------------------------------
// GEMM: c [m, n] = A·b with A packed in BK_MR-row panels; a BK_MR × NR register tile per step.

#define NR (2 * LANES)
#define KC 256           // k per block: a panel's slice (6 KiB) stays in L1 across the NR steps
#define NC (NR * 24)     // columns per block: the b slice (KC × NC) stays in L2

/// The fused epilogue for the first `count` lanes (0 < count ≤ LANES) of one vector of row `row`
/// from `column` on: relu?((accumulate ? c : 0) + x + bias[row] + residual[row, column…]) →
/// c [row, column … column + count), nothing outside those columns read or written.
static inline void finish(vf x, int row, int column, int count, float *c, long ldc, int accumulate,
                          const float *bias, const float *residual, long ldr, int relu) {
    float *dst = c + row * ldc + column;
    if (accumulate) x += vload_first(dst, count);
    if (bias) x += vsplat(bias[row]);
    if (residual) x += vload_first(residual + row * ldr + column, count);
    if (relu) x = vrelu(x);
    vstore_first(dst, x, count);
}

/// c [MR, cols] (ldc) = (accumulate ? c : 0) + panel [k][MR] · b [k, cols] (ldb), then the
/// epilogue, for LANES < cols ≤ NR: b's NR columns are read (past cols, they only feed lanes that are
/// not stored). `next`, when not NULL, is the [k][MR] slice the following call will read: prefetched.
static inline void micro(int k, const float *panel, const float *b, long ldb, float *c, long ldc, int cols,
                         int accumulate, const float *bias, const float *residual, long ldr, int relu,
                         const float *next) {
    vf c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0};
    vf c30 = {0}, c31 = {0}, c40 = {0}, c41 = {0}, c50 = {0}, c51 = {0};
    for (int p = 0; p < k; p++) {
        if (next) __builtin_prefetch(next + p * BK_MR);
        vf b0 = vload(b), b1 = vload(b + LANES);
        vf a;
        a = vsplat(panel[0]); c00 += a * b0; c01 += a * b1;
        a = vsplat(panel[1]); c10 += a * b0; c11 += a * b1;
        a = vsplat(panel[2]); c20 += a * b0; c21 += a * b1;
        a = vsplat(panel[3]); c30 += a * b0; c31 += a * b1;
        a = vsplat(panel[4]); c40 += a * b0; c41 += a * b1;
        a = vsplat(panel[5]); c50 += a * b0; c51 += a * b1;
        panel += BK_MR;
        b += ldb;
    }
    int rest = cols - LANES;
#define BK_FINISH(x, row, column, count) finish(x, row, column, count, c, ldc, accumulate, bias, residual, ldr, relu)
    BK_FINISH(c00, 0, 0, LANES); BK_FINISH(c01, 0, LANES, rest); BK_FINISH(c10, 1, 0, LANES); BK_FINISH(c11, 1, LANES, rest);
    BK_FINISH(c20, 2, 0, LANES); BK_FINISH(c21, 2, LANES, rest); BK_FINISH(c30, 3, 0, LANES); BK_FINISH(c31, 3, LANES, rest);
    BK_FINISH(c40, 4, 0, LANES); BK_FINISH(c41, 4, LANES, rest); BK_FINISH(c50, 5, 0, LANES); BK_FINISH(c51, 5, LANES, rest);
#undef BK_FINISH
}

/// c [MR, cols] (ldc) = (accumulate ? c : 0) + panel [k][MR] · b [k, cols] (ldb), then the
/// epilogue, for cols ≤ LANES (b's LANES columns read): half the work of `micro`, for a right edge no
/// wider than one vector (784 = 24·32 + 16 columns at 28×28 with 16 lanes; a Winograd chunk of 16 tiles).
/// `next` as in `micro`.
static inline void micro_half(int k, const float *panel, const float *b, long ldb, float *c, long ldc, int cols,
                              int accumulate, const float *bias, const float *residual, long ldr, int relu,
                              const float *next) {
    vf c0 = {0}, c1 = {0}, c2 = {0}, c3 = {0}, c4 = {0}, c5 = {0};
    for (int p = 0; p < k; p++) {
        if (next) __builtin_prefetch(next + p * BK_MR);
        vf b0 = vload(b);
        c0 += vsplat(panel[0]) * b0; c1 += vsplat(panel[1]) * b0; c2 += vsplat(panel[2]) * b0;
        c3 += vsplat(panel[3]) * b0; c4 += vsplat(panel[4]) * b0; c5 += vsplat(panel[5]) * b0;
        panel += BK_MR;
        b += ldb;
    }
#define BK_FINISH(x, row) finish(x, row, 0, cols, c, ldc, accumulate, bias, residual, ldr, relu)
    BK_FINISH(c0, 0); BK_FINISH(c1, 1); BK_FINISH(c2, 2); BK_FINISH(c3, 3); BK_FINISH(c4, 4); BK_FINISH(c5, 5);
#undef BK_FINISH
}

/// tile [MR, NR] (only column 0) = panel [k][MR] · b [k, 1] (ldb), for a right edge one column wide
/// (7×7 at batch 1: 49 = 3·16 + 1), where `micro_half` would spend MR·LANES multiply-adds per step on
/// one column. Eight lanes hold one step's MR weights (two spare lanes compute nothing used), times
/// that step's b, in four accumulators so the adds' latency is hidden. An 8-float load at step p
/// reads 2 floats past the step, so the four-step loop runs only while its last step comes before
/// step k − 1 (every load then stays inside this slice) and the remaining steps go scalar.
typedef float bk_v8 __attribute__((ext_vector_type(8)));
_Static_assert(BK_MR <= 8, "one 8-float load must cover a step's MR weights");
static inline void micro_one(int k, const float *panel, const float *b, long ldb, float *tile) {
    bk_v8 acc0 = 0, acc1 = 0, acc2 = 0, acc3 = 0;
    int p = 0;
    for (; p + 4 < k; p += 4, panel += 4 * BK_MR, b += 4 * ldb) {
        bk_v8 w0, w1, w2, w3;
        __builtin_memcpy(&w0, panel, sizeof w0);
        __builtin_memcpy(&w1, panel + BK_MR, sizeof w1);
        __builtin_memcpy(&w2, panel + 2 * BK_MR, sizeof w2);
        __builtin_memcpy(&w3, panel + 3 * BK_MR, sizeof w3);
        acc0 += w0 * b[0];
        acc1 += w1 * b[ldb];
        acc2 += w2 * b[2 * ldb];
        acc3 += w3 * b[3 * ldb];
    }
    bk_v8 sum = (acc0 + acc1) + (acc2 + acc3);
    float column[8];
    __builtin_memcpy(column, &sum, sizeof column);
    for (; p < k; p++, panel += BK_MR, b += ldb) {
        for (int i = 0; i < BK_MR; i++) column[i] += panel[i] * b[0];
    }
    for (int i = 0; i < BK_MR; i++) tile[i * NR] = column[i];
}

/// A tile at the bottom edge (fewer than MR rows) or one column wide: computed whole (or its first
/// vector of columns, or its first column, when that covers it) into a temporary, since packed
/// panels are zero-padded to MR rows, and only its `rows × cols` part written.
static void edge(int k, const float *panel, const float *b, long ldb, int rows, int cols, float *c, long ldc,
                 int accumulate, const float *bias, const float *residual, long ldr, int relu) {
    float tile[BK_MR * NR];
    if (cols == 1) {
        micro_one(k, panel, b, ldb, tile);
    } else if (cols <= LANES) {
        micro_half(k, panel, b, ldb, tile, NR, LANES, 0, NULL, NULL, 0, 0, NULL);
    } else {
        micro(k, panel, b, ldb, tile, NR, NR, 0, NULL, NULL, 0, 0, NULL);
    }
    for (int i = 0; i < rows; i++) {
        for (int j = 0; j < cols; j++) {
            float value = tile[i * NR + j];
            if (accumulate) value += c[i * ldc + j];
            if (bias) value += bias[i];
            if (residual) value += residual[i * ldr + j];
            if (relu && value < 0) value = 0;
            c[i * ldc + j] = value;
        }
    }
}

/// b [k, n] (ldb) → NR-column panels [ceil(n/NR)][k][NR], zero-padded: the micro-kernel then reads
/// one contiguous stream whatever ldb is (a power-of-two ldb would alias every row to one cache set).
static void pack_b(int k, int n, const float *b, long ldb, float *packed) {
    for (int j0 = 0; j0 < n; j0 += NR) {
        int cols = n - j0 < NR ? n - j0 : NR;
        float *dst = packed + (size_t)j0 * k;
        if (cols == NR) {
            for (int p = 0; p < k; p++) {
                const float *src = b + (size_t)p * ldb + j0;
                vstore(dst + p * NR, vload(src));
                vstore(dst + p * NR + LANES, vload(src + LANES));
            }
        } else {
            for (int p = 0; p < k; p++) {
                const float *src = b + (size_t)p * ldb + j0;
                for (int j = 0; j < NR; j++) dst[p * NR + j] = j < cols ? src[j] : 0.0f;
            }
        }
    }
}

/// rows [LANES] (a LANES × LANES block, one vector per row) → its transpose, in place: log2(LANES)
/// rounds of interleaving row i with row i + LANES/2 (a perfect shuffle each round).
static inline void transpose_block(vf rows[LANES]) {
    for (int round = 1; round < LANES; round *= 2) {
        vf out[LANES];
        for (int i = 0; i < LANES / 2; i++) {
            out[2 * i] = ZIP_LO(rows[i], rows[i + LANES / 2]);
            out[2 * i + 1] = ZIP_HI(rows[i], rows[i + LANES / 2]);
        }
        for (int i = 0; i < LANES; i++) rows[i] = out[i];
    }
}

/// The same panels from bᵀ [n, k] (row stride ldbt): b[p][j] = bt[j][p]. Full panels go a
/// LANES × LANES block at a time through registers (the Winograd weight gradient's V[ξ]ᵀ, whose
/// scalar copy cost as much as a sixth of its products); the rest column by column.
static void pack_bt(int k, int n, const float *bt, long ldbt, float *packed) {
    for (int j0 = 0; j0 < n; j0 += NR) {
        int cols = n - j0 < NR ? n - j0 : NR, p0 = 0;
        float *dst = packed + (size_t)j0 * k;
        if (cols == NR) {
            for (; p0 + LANES <= k; p0 += LANES) {
                for (int half = 0; half < NR; half += LANES) {
                    vf rows[LANES];
                    for (int j = 0; j < LANES; j++) rows[j] = vload(bt + (size_t)(j0 + half + j) * ldbt + p0);
                    transpose_block(rows);
                    for (int q = 0; q < LANES; q++) vstore(dst + (size_t)(p0 + q) * NR + half, rows[q]);
                }
            }
        }
        for (int j = 0; j < NR; j++) {
            const float *src = bt + (size_t)(j0 + j) * ldbt;
            for (int p = p0; p < k; p++) dst[p * NR + j] = j < cols ? src[p] : 0.0f;
        }
    }
}

/// a [m, k] (row stride lda) → `bk_pack_a`'s panels [ceil(m/MR)][k][MR], zero past row m, LANES
/// columns at a time through registers (a transpose of MR rows padded to LANES): for the Winograd
/// weight gradient's Ĝ[ξ], packed afresh for every chunk, where the scalar copy cost a sixth of
/// the products it fed.
static void pack_a_rows(int m, int k, const float *a, long lda, float *packed) {
    for (int i0 = 0; i0 < m; i0 += BK_MR) {
        int rows = m - i0 < BK_MR ? m - i0 : BK_MR, p0 = 0;
        float *panel = packed + (size_t)i0 * k;
        for (; LANES >= BK_MR && p0 + LANES <= k; p0 += LANES) {
            vf block[LANES];
            for (int i = 0; i < LANES; i++) block[i] = i < rows ? vload(a + (size_t)(i0 + i) * lda + p0) : (vf){0};
            transpose_block(block);
            // Column p0 + q's MR values, then LANES − MR lanes of padding that a later store
            // overwrites, while the whole vector stays inside this block; the last columns exactly.
            int q = 0;
            for (; q * BK_MR + LANES <= LANES * BK_MR; q++) vstore(panel + (size_t)(p0 + q) * BK_MR, block[q]);
            for (; q < LANES; q++) vstore_first(panel + (size_t)(p0 + q) * BK_MR, block[q], BK_MR);
        }
        for (int p = p0; p < k; p++) {
            for (int i = 0; i < BK_MR; i++) panel[p * BK_MR + i] = i < rows ? a[(size_t)(i0 + i) * lda + p] : 0.0f;
        }
    }
}

size_t BK_FN(bk_gemm_workspace)(void) { return (size_t)KC * NC; }

/// How `gemm` gets b: b [k, n] (ldb) copied into NR-column panels; bᵀ [n, k] (row stride ldb)
/// copied into the same panels; or b [k, n] read in place, for the small products of a Winograd
/// chunk, whose V was just written and is still in cache: there, copying it would cost a sizeable
/// part of the product. In place, a part-filled last panel is read a whole vector (or two) wide, so
/// ldb must run at least a vector past n; the columns past n feed only lanes that are not stored.
enum { B_ROWS, B_TRANSPOSED, B_IN_PLACE };

static inline int streams(int m, int k) { return (size_t)m * (size_t)k >= ((size_t)1 << 18); }

/// c [m, n] (ldc) = (accumulate ? c : 0) + A·b, b as `layout` says.
static void gemm(int m, int n, int k, const float *packed_a, const float *b, long ldb, float *c, long ldc,
                 int accumulate, const bk_epilogue *epilogue, float *workspace, int layout, int streamed) {
    const float *bias = epilogue ? epilogue->bias : NULL;
    const float *residual = epilogue ? epilogue->residual : NULL;
    long ldr = epilogue ? epilogue->ldr : 0;
    int relu = epilogue ? epilogue->relu : 0;
    if (k == 0) {
        bk_reference_gemm(m, n, 0, NULL, 0, NULL, 0, c, ldc, accumulate, epilogue);
        return;
    }
    for (int jc = 0; jc < n; jc += NC) {
        int nc = n - jc < NC ? n - jc : NC;
        for (int pc = 0; pc < k; pc += KC) {
            int kc = k - pc < KC ? k - pc : KC;
            int acc = accumulate || pc > 0, last = pc + kc >= k;
            const float *slice = b + (size_t)pc * ldb + jc;  // b [k, n] in place
            if (layout == B_TRANSPOSED) {
                pack_bt(kc, nc, b + (size_t)jc * ldb + pc, ldb, workspace);
            } else if (layout == B_ROWS) {
                pack_b(kc, nc, slice, ldb, workspace);
            }
            for (int i0 = 0; i0 < m; i0 += BK_MR) {
                int rows = m - i0 < BK_MR ? m - i0 : BK_MR;
                const float *panel = packed_a + (size_t)i0 * k + (size_t)pc * BK_MR;
                const float *rb = last && bias ? bias + i0 : NULL;
                // A weight matrix of a MiB or more (resnet18's last stage: 9.4 MB) cannot stay in L2,
                // so with few columns (batch 1) its panels stream from memory: when the caller says
                // so (`streamed`), the first tile prefetches the next panel's slice, so the stream is
                // not left to the hardware prefetcher, which stops at every page. Smaller weights stay
                // cached and the extra instructions would only cost (scene-s at batch 32 measured
                // slower with them).
                const float *next = streamed && i0 + BK_MR < m ? panel + (size_t)BK_MR * k : NULL;
                for (int jr = 0; jr < nc; jr += NR) {
                    int cols = nc - jr < NR ? nc - jr : NR;
                    int in_place = layout == B_IN_PLACE;
                    const float *bp = in_place ? slice + jr : workspace + (size_t)jr * kc;
                    long bstride = in_place ? ldb : NR;
                    float *cp = c + (size_t)i0 * ldc + jc + jr;
                    const float *rp = last && residual ? residual + (size_t)i0 * ldr + jc + jr : NULL;
                    if (rows == BK_MR && cols == NR) {  // a constant width, so the stores need no lane count
                        micro(kc, panel, bp, bstride, cp, ldc, NR, acc, rb, rp, ldr, last && relu, jr == 0 ? next : NULL);
                    } else if (rows == BK_MR && cols == LANES + 1) {
                        // One column past a vector (7×7 at batch 1 with 16 lanes: 49 = 32 + 17): a
                        // vector's tile and a one-column edge, not a full NR tile for 17 columns.
                        micro_half(kc, panel, bp, bstride, cp, ldc, LANES, acc, rb, rp, ldr, last && relu, jr == 0 ? next : NULL);
                        edge(kc, panel, bp + LANES, bstride, rows, 1, cp + LANES, ldc, acc, rb,
                             rp ? rp + LANES : NULL, ldr, last && relu);
                    } else if (rows == BK_MR && cols > LANES) {
                        micro(kc, panel, bp, bstride, cp, ldc, cols, acc, rb, rp, ldr, last && relu, jr == 0 ? next : NULL);
                    } else if (rows == BK_MR && cols > 1) {
                        micro_half(kc, panel, bp, bstride, cp, ldc, cols, acc, rb, rp, ldr, last && relu, jr == 0 ? next : NULL);
                    } else {
                        edge(kc, panel, bp, bstride, rows, cols, cp, ldc, acc, rb, rp, ldr, last && relu);
                    }
                }
            }
        }
    }
}

void BK_FN(bk_gemm)(int m, int n, int k, const float *packed_a, const float *b, long ldb, float *c, long ldc,
                    int accumulate, const bk_epilogue *epilogue, float *workspace) {
    gemm(m, n, k, packed_a, b, ldb, c, ldc, accumulate, epilogue, workspace, B_ROWS, streams(m, k));
}

void BK_FN(bk_gemm_in_place)(int m, int n, int k, const float *packed_a, const float *b, long ldb, float *c, long ldc,
                             int accumulate, const bk_epilogue *epilogue) {
    _Static_assert(NR <= BK_GEMM_IN_PLACE_COLUMNS, "in-place b tiles are at most BK_GEMM_IN_PLACE_COLUMNS wide");
    gemm(m, n, k, packed_a, b, ldb, c, ldc, accumulate, epilogue, NULL, B_IN_PLACE, streams(m, k));
}

#include "kernels_rows.h"

// ---------------------------------------------------------------------------------------------
// Winograd F(4×4, 3×3): V = Bᵀ·d·B per 6×6 input patch, M[ξ] = U[ξ]·V[ξ] for the 36 points ξ,
// Y = Aᵀ·M·A per 4×4 output tile. Input rows are split into four phase arrays,
// P_k[j] = row[4j + k − 1], so tile tx reads P_0..3[tx], P_0[tx+1], P_1[tx+1]: LANES tiles per op.

/// row [first … first + LANES), zero where a column is outside [0, w).
static inline vf vload_row(const float *row, int first, int w) {
    if (first >= 0 && first + LANES <= w) return vload(row + first);
    int lo = first < 0 ? -first : 0, hi = w - first < LANES ? w - first : LANES;
    return hi > lo ? vload_lanes(row + first, lo, hi) : (vf){0};
}

/// The four phases of the 4·LANES columns from `first` of a row [w], in registers: p[k][j] =
/// row[first + 4j + k], zero outside the row; a group wholly past the row's end is zero without
/// being read.
static inline void split_phases(const float *src, int first, int w, vf p[4]) {
    p[0] = p[1] = p[2] = p[3] = (vf){0};
    if (first >= w) return;
    deinterleave4(vload_row(src, first, w), vload_row(src, first + LANES, w), vload_row(src, first + 2 * LANES, w),
                  vload_row(src, first + 3 * LANES, w), &p[0], &p[1], &p[2], &p[3]);
}

/// split_phases stored at `dst + j`, the phase arrays `phase` apart.
static inline void split_group(const float *src, int first, int w, int j, int phase, float *dst) {
    vf p[4];
    split_phases(src, first, w, p);
    for (int k = 0; k < 4; k++) vstore(dst + k * phase + j, p[k]);
}

/// Input row `y` of one image, phase-split into `dst` [4·phase], zero outside.
static void split_row(const float *image, int w, int y, int phase, float *dst) {
    const float *src = image + (size_t)y * w;  // phase k of group j starts at column 4j + k − 1
    for (int j = 0; j < phase; j += LANES) split_group(src, 4 * j - 1, w, j, phase, dst);
}

/// Requests rows [y0, y1) of an image [h, w] (clipped to it) into the cache, a line at a time, for
/// reading or (`write`) for writing. The transforms go through a chunk's rows channel by channel, and
/// each channel's rows are a short run `batch·h·w` floats from the last one's: too short for the
/// hardware prefetcher to follow, so without this every channel starts with a row of misses.
static inline void prefetch_rows(const float *image, int h, int w, int y0, int y1, int write) {
    if (y0 < 0) y0 = 0;
    if (y1 > h) y1 = h;
    if (y1 <= y0) return;
    const char *end = (const char *)(image + (size_t)y1 * w);
    for (const char *p = (const char *)((uintptr_t)(image + (size_t)y0 * w) & ~(uintptr_t)63); p < end; p += 64) {
        if (write) __builtin_prefetch(p, 1);
        else __builtin_prefetch(p, 0);
    }
}

/// prefetch_rows for the output transform: rows [oy, oy + 4) of the next channel's image [h, w] in
/// output (for writing) and in residual (for reading, when there is one); `next` is that image's offset.
static inline void prefetch_output_rows(float *output, const float *residual, size_t next, int h, int w, int oy) {
    prefetch_rows(output + next, h, w, oy, oy + 4, 1);
    if (residual) prefetch_rows(residual + next, h, w, oy, oy + 4, 0);
}

/// Bᵀ·a for one 6-vector a (each lane a different tile or column). Bᵀ = [[4,0,−5,0,1,0],
/// [0,−4,−4,1,1,0],[0,4,−4,−1,1,0],[0,−2,−1,2,1,0],[0,2,−1,−2,1,0],[0,4,0,−5,0,1]]; the row stage and
/// the column stage of the input transform both use it.
static inline void bt(const vf a[6], vf out[6]) {
    out[0] = 4 * a[0] - 5 * a[2] + a[4];
    out[1] = -4 * (a[1] + a[2]) + a[3] + a[4];
    out[2] = 4 * (a[1] - a[2]) - a[3] + a[4];
    out[3] = 2 * (a[3] - a[1]) - a[2] + a[4];
    out[4] = 2 * (a[1] - a[3]) - a[2] + a[4];
    out[5] = 4 * a[1] - 5 * a[3] + a[5];
}

/// Bᵀ·d·B for LANES tiles: row[i] + at[j] is the vector of window row i (0 … 5) at the column
/// phase tile column j reads (the four phases, then phases 0 and 1 one tile on); the 36 points go
/// to dst + point·plane.
static inline void input_tiles(const float *const row[6], const size_t at[6], float *dst, size_t plane) {
    // Bᵀ·d over the six rows, at the six column phases: t[j][i] = (Bᵀ·d)[i][j].
    vf t[6][6];
    for (int j = 0; j < 6; j++) {
        vf a[6] = {vload(row[0] + at[j]), vload(row[1] + at[j]), vload(row[2] + at[j]),
                   vload(row[3] + at[j]), vload(row[4] + at[j]), vload(row[5] + at[j])};
        bt(a, t[j]);
    }
    // (Bᵀ·d)·B: row i of Bᵀ·d through Bᵀ again, to the points 6i … 6i + 5.
    for (int i = 0; i < 6; i++) {
        vf a[6] = {t[0][i], t[1][i], t[2][i], t[3][i], t[4][i], t[5][i]}, out[6];
        bt(a, out);
        for (int j = 0; j < 6; j++) vstore(dst + (size_t)(6 * i + j) * plane, out[j]);
    }
}

// Narrow images. A row of tiles narrower than half a vector (16×16 images at 16 lanes: 4 tiles)
// would leave most lanes idle, so `group` = LANES / tw tile rows share each vector: tile row r + k
// in lanes [k·tw, k·tw + tw). Their split rows are packed side by side, one segment per tile row,
// into arrays PACKED apart; each segment is a full-vector store at lane k·tw, made in increasing k
// so the next segment overwrites the one before's spill.
#define PACKED (2 * LANES)

/// Tile rows per vector: LANES / tw when a row of tiles fills at most half a vector, else 1.
static inline int f4_group(int tw) { return 2 * tw <= LANES ? LANES / tw : 1; }

#if LANES == 4
#define SHIFT1(x) __builtin_shufflevector(x, (vf){0}, 1, 2, 3, 4)
#elif LANES == 8
#define SHIFT1(x) __builtin_shufflevector(x, (vf){0}, 1, 2, 3, 4, 5, 6, 7, 8)
#else
#define SHIFT1(x) __builtin_shufflevector(x, (vf){0}, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)
#endif

/// split_phases of row y of an image [h, w], zero for a row outside the image.
static inline void split_vectors(const float *image, int h, int w, int y, int first, vf p[4]) {
    if (y < 0 || y >= h) {
        p[0] = p[1] = p[2] = p[3] = (vf){0};
        return;
    }
    split_phases(image + (size_t)y * w, first, w, p);
}

/// f4_input for narrow images: per group of tile rows, each segment's six-row window split in
/// registers (rows 0 and 1 are rows 4 and 5 of the tile row above, when it is the segment before)
/// and stored into six packed arrays per window row — the four phases, and phases 0 and 1 one tile
/// on, so a segment's last tile reads the tile after it from its own row — then one transform.
static void f4_input_grouped(int c, int c0, int c1, int h, int w, int batch, const float *input, int r0, int r1,
                             const bk_f4_layout *l, float *v, float *packed) {
    int th = (h + 3) / 4, tw = l->tiles_wide, group = f4_group(tw);
    size_t plane = bk_f4_plane(c, l->ldv);
    const float *row[6];
    size_t at[6];
    for (int i = 0; i < 6; i++) { row[i] = packed + (size_t)6 * i * PACKED; at[i] = (size_t)i * PACKED; }
    for (int ci = c0; ci < c1; ci++) {
        for (int r = r0; r < r1; r += group) {
            int segments = r1 - r < group ? r1 - r : group;
            vf p[6][4];
            for (int k = 0; k < segments; k++) {
                int n = (r + k) / th, ty = (r + k) % th;
                const float *image = input + ((size_t)ci * batch + n) * h * w;
                if (ci + 1 < c1) prefetch_rows(image + (size_t)batch * h * w, h, w, 4 * ty - 1, 4 * ty + 5, 0);
                for (int i = 0; i < 6; i++) {
                    if (k > 0 && ty > 0 && i < 2) {
                        for (int q = 0; q < 4; q++) p[i][q] = p[i + 4][q];
                    } else {
                        split_vectors(image, h, w, 4 * ty - 1 + i, -1, p[i]);
                    }
                    float *dst = packed + (size_t)6 * i * PACKED + k * tw;
                    for (int q = 0; q < 4; q++) vstore(dst + q * PACKED, p[i][q]);
                    vstore(dst + 4 * PACKED, SHIFT1(p[i][0]));
                    vstore(dst + 5 * PACKED, SHIFT1(p[i][1]));
                }
            }
            // The vector's lanes past the group's tiles land on the next group's, which overwrites them.
            input_tiles(row, at, v + (size_t)ci * l->ldv + (size_t)(r - r0) * tw, plane);
        }
    }
}

/// input [c, batch, h, w] → V [36][c][ldv] for channels [c0, c1) of the chunk's tiles
/// (tile t = (r − r0)·tw + tx). Each input row is phase-split once into a ring of eight split rows
/// (tile row ty reads rows 4ty − 1 … 4ty + 4, two of them shared with the tile row above), and
/// both stages of Bᵀ·d·B run in registers, LANES tiles at a time, so V is the only thing stored.
static void f4_input(int c, int c0, int c1, int h, int w, int batch, const float *input, int r0, int r1,
                     const bk_f4_layout *l, float *v, float *rows) {
    int th = (h + 3) / 4, tw = l->tiles_wide, phase = l->phase, length = 4 * phase;
    if (f4_group(tw) > 1) {
        f4_input_grouped(c, c0, c1, h, w, batch, input, r0, r1, l, v, rows);
        return;
    }
    size_t plane = bk_f4_plane(c, l->ldv);
    float *zero = rows + 8 * length;
    zero_run(zero, length);
    for (int ci = c0; ci < c1; ci++) {
        for (int r = r0; r < r1; r++) {
            int n = r / th, ty = r % th;
            const float *image = input + ((size_t)ci * batch + n) * h * w;
            int fresh = r == r0 || ty == 0;
            if (ci + 1 < c1) prefetch_rows(image + (size_t)batch * h * w, h, w, 4 * ty + (fresh ? -1 : 1), 4 * ty + 5, 0);
            // Row y lives in slot (y + 1) mod 8; a new image or channel starts the ring afresh.
            const float *row[6];
            for (int i = 0; i < 6; i++) {
                int y = 4 * ty - 1 + i;
                float *slot = rows + (size_t)((y + 1) & 7) * length;
                if (y < 0 || y >= h) row[i] = zero;
                else {
                    if (i >= 2 || fresh) split_row(image, w, y, phase, slot);
                    row[i] = slot;
                }
            }
            // The last vector may run past tw into the next row's tiles, which that row overwrites.
            float *base = v + (size_t)ci * l->ldv + (size_t)(r - r0) * tw;
            for (int tx = 0; tx < tw; tx += LANES) {
                size_t at[6] = {(size_t)tx, (size_t)phase + tx, (size_t)2 * phase + tx, (size_t)3 * phase + tx,
                                (size_t)tx + 1, (size_t)phase + tx + 1};
                input_tiles(row, at, base + tx, plane);
            }
        }
    }
}

/// relu?(row + bias + residual) → dst, `w` floats.
static void store_row(const float *row, int w, float bias, const float *residual, int relu, float *dst) {
    vf b = vsplat(bias);
    int x = 0;
    for (; x + LANES <= w; x += LANES) {
        vf value = vload(row + x) + b;
        if (residual) value += vload(residual + x);
        if (relu) value = vrelu(value);
        vstore(dst + x, value);
    }
    for (; x < w; x++) {
        float value = row[x] + bias + (residual ? residual[x] : 0.0f);
        dst[x] = relu && value < 0 ? 0.0f : value;
    }
}

/// Aᵀ on the row index for LANES tiles: s[i][j], i = 0…3, from the six points of column j, each the
/// vector at src + point·plane.
static inline void output_columns(const float *src, size_t plane, vf s[4][6]) {
    for (int j = 0; j < 6; j++) {
        vf m0 = vload(src + j * plane), m1 = vload(src + (6 + j) * plane);
        vf m2 = vload(src + (12 + j) * plane), m3 = vload(src + (18 + j) * plane);
        vf m4 = vload(src + (24 + j) * plane), m5 = vload(src + (30 + j) * plane);
        vf p12 = m1 + m2, d12 = m1 - m2, p34 = m3 + m4, d34 = m3 - m4;
        s[0][j] = m0 + p12 + p34;
        s[1][j] = d12 + 2 * d34;
        s[2][j] = p12 + 4 * p34;
        s[3][j] = d12 + 8 * d34 + m5;
    }
}

/// Aᵀ on the column index of one row s[i] of output_columns: the four results per tile interleaved,
/// y = (y0, y1, y2, y3) [4·LANES] holding output columns 4t … 4t + 3 of lane t's tile.
static inline void output_row(const vf s[6], vf y[4]) {
    vf p12 = s[1] + s[2], d12 = s[1] - s[2], p34 = s[3] + s[4], d34 = s[3] - s[4];
    interleave4(s[0] + p12 + p34, d12 + 2 * d34, p12 + 4 * p34, d12 + 8 * d34 + s[5], y);
}

/// f4_output for narrow images (f4_group): each output row of a group goes through a small buffer,
/// from which every segment's row is stored with the epilogue.
static void f4_output_grouped(int o0, int o1, int h, int w, int batch, const float *m, int r0, int r1,
                              const bk_f4_layout *l, const bk_epilogue *epilogue, float *output) {
    int th = (h + 3) / 4, tw = l->tiles_wide, group = f4_group(tw), relu = epilogue ? epilogue->relu : 0;
    size_t plane = bk_f4_plane(o1 - o0, l->ldv), image = (size_t)h * w;
    const float *residuals = epilogue ? epilogue->residual : NULL;
    float line[4 * LANES] __attribute__((aligned(64)));
    for (int o = o0; o < o1; o++) {
        vf bias = vsplat(epilogue && epilogue->bias ? epilogue->bias[o] : 0.0f);
        for (int r = r0; r < r1; r += group) {
            int segments = r1 - r < group ? r1 - r : group;
            for (int k = 0; o + 1 < o1 && k < segments; k++) {
                int n = (r + k) / th, oy = (r + k) % th * 4;
                prefetch_output_rows(output, residuals, ((size_t)(o + 1) * batch + n) * image, h, w, oy);
            }
            vf s[4][6];
            output_columns(m + (size_t)(o - o0) * l->ldv + (size_t)(r - r0) * tw, plane, s);
            for (int i = 0; i < 4; i++) {
                vf y[4];
                output_row(s[i], y);
                for (int q = 0; q < 4; q++) vstore(line + q * LANES, y[q] + bias);
                for (int k = 0; k < segments; k++) {
                    int n = (r + k) / th, oy = (r + k) % th * 4;
                    if (oy + i >= h) continue;
                    size_t offset = ((size_t)o * batch + n) * image + (size_t)(oy + i) * w;
                    for (int x = 0; x < w; x += LANES) {
                        int count = w - x < LANES ? w - x : LANES;
                        vf value = vload_first(line + 4 * k * tw + x, count);
                        if (residuals) value += vload_first(residuals + offset + x, count);
                        if (relu) value = vrelu(value);
                        vstore_first(output + offset + x, value, count);
                    }
                }
            }
        }
    }
}

/// M [36][o1 − o0][ldv] (output channels o0 … o1−1) → output [oc, batch, h, w]:
/// Y = Aᵀ·M·A + bias, then residual and ReLU, stored straight into the output rows.
static void f4_output(int o0, int o1, int h, int w, int batch, const float *m, int r0, int r1, const bk_f4_layout *l,
                      const bk_epilogue *epilogue, float *output) {
    int th = (h + 3) / 4, tw = l->tiles_wide, relu = epilogue ? epilogue->relu : 0;
    if (f4_group(tw) > 1) {
        f4_output_grouped(o0, o1, h, w, batch, m, r0, r1, l, epilogue, output);
        return;
    }
    size_t plane = bk_f4_plane(o1 - o0, l->ldv), image = (size_t)h * w;
    for (int o = o0; o < o1; o++) {
        vf bias = vsplat(epilogue && epilogue->bias ? epilogue->bias[o] : 0.0f);
        for (int r = r0; r < r1; r++) {
            int n = r / th, oy = r % th * 4, rows = h - oy < 4 ? h - oy : 4;
            const float *src = m + (size_t)(o - o0) * l->ldv + (size_t)(r - r0) * tw;
            size_t offset = ((size_t)o * batch + n) * image + (size_t)oy * w;
            float *dst = output + offset;
            const float *residual = epilogue && epilogue->residual ? epilogue->residual + offset : NULL;
            if (o + 1 < o1) {
                prefetch_output_rows(output, epilogue ? epilogue->residual : NULL, ((size_t)(o + 1) * batch + n) * image,
                                     h, w, oy);
            }
            for (int tx = 0; tx < tw; tx += LANES) {
                vf s[4][6];
                output_columns(src + tx, plane, s);
                // The four results per tile interleaved into output row i, columns 4·tx … 4·tx + 4·LANES − 1,
                // with the epilogue, up to the row's end.
                for (int i = 0; i < rows; i++) {
                    vf y[4];
                    output_row(s[i], y);
                    for (int q = 0; q < 4; q++) {
                        int x = 4 * tx + q * LANES, count = w - x < LANES ? w - x : LANES;
                        if (count <= 0) break;
                        vf value = y[q] + bias;
                        if (residual) value += vload_row(residual + (size_t)i * w, x, w);
                        if (relu) value = vrelu(value);
                        vstore_first(dst + (size_t)i * w + x, value, count);
                    }
                }
            }
        }
    }
}

/// The 36 GEMMs for output channels [o0, o1) (o0 a multiple of BK_MR) and their output transform.
static void f4_multiply_output(int c, int oc, int o0, int o1, int h, int w, int batch, const float *v, const float *packed_u,
                               const bk_epilogue *epilogue, float *output, int r0, int r1, const bk_f4_layout *l,
                               float *m, float *pack, int streamed) {
    int count = (r1 - r0) * l->tiles_wide, rows = o1 - o0;
    size_t per_point = bk_packed_a_floats(oc, c);
    for (int xi = 0; xi < 36; xi++) {
        gemm(rows, count, c, packed_u + xi * per_point + (size_t)o0 * c, v + xi * bk_f4_plane(c, l->ldv), l->ldv,
             m + xi * bk_f4_plane(rows, l->ldv), l->ldv, 0, NULL, pack, B_IN_PLACE, streamed);
    }
    f4_output(o0, o1, h, w, batch, m, r0, r1, l, epilogue, output);
}

void BK_FN(bk_winograd_f4_rows)(int c, int oc, int h, int w, int batch, const float *input, const float *packed_u,
                                const bk_epilogue *epilogue, float *output, int r0, int r1, float *scratch) {
    if (r1 <= r0) return;
    bk_f4_layout l = bk_f4_layout_for(LANES, c, oc, w, r1 - r0);
    float *v = scratch + l.v;
    f4_input(c, 0, c, h, w, batch, input, r0, r1, &l, v, scratch + l.rows);
    f4_multiply_output(c, oc, 0, oc, h, w, batch, v, packed_u, epilogue, output, r0, r1, &l, scratch + l.m,
                       scratch + l.pack, 0);
}

void BK_FN(bk_winograd_f4_input_channels)(int c, int c0, int c1, int h, int w, int batch, const float *input,
                                          int tile_rows, float *v, float *scratch) {
    bk_f4_layout l = bk_f4_layout_for(LANES, 0, 0, w, tile_rows);
    f4_input(c, c0, c1, h, w, batch, input, 0, tile_rows, &l, v, scratch + l.rows);
}

void BK_FN(bk_winograd_f4_output_channels)(int c, int oc, int o0, int o1, int h, int w, int batch, const float *v,
                                           const float *packed_u, const bk_epilogue *epilogue, float *output,
                                           int tile_rows, float *scratch) {
    if (o1 <= o0) return;
    bk_f4_layout l = bk_f4_layout_for(LANES, 0, o1 - o0, w, tile_rows);
    // Channels are split when tiles are few (batch 1): each of this worker's 36 weight matrices is
    // read once per call, 36 · (o1 − o0) · c floats in all (4.7 MB at resnet18's 256 → 256), so
    // a MiB or more streams from memory and its panels are prefetched as im2col's are. With the
    // tiles split instead (`bk_winograd_f4_rows`) each chunk rereads the weights, mostly from cache:
    // scene-s at batch 32 measured slower with the prefetches there.
    f4_multiply_output(c, oc, o0, o1, h, w, batch, v, packed_u, epilogue, output, 0, tile_rows, &l,
                       scratch + l.m, scratch + l.pack, streams(36 * (o1 - o0), c));
}

// ---------------------------------------------------------------------------------------------
// Winograd F(4×4) weight gradient: ∂U[ξ] += Ĝ[ξ]·V[ξ]ᵀ over the chunk's tiles, with
// Ĝ = A·∂y·Aᵀ per 4×4 output-gradient tile; Gᵀ·∂U·G back to 3×3 is done by the caller.

/// A·y for a 4-vector y: (y0, Σy, y0−y1+y2−y3, y0+2y1+4y2+8y3, y0−2y1+4y2−8y3, y3).
static inline void expand_a(vf y0, vf y1, vf y2, vf y3, vf out[6]) {
    vf p02 = y0 + y2, p13 = y1 + y3, q02 = y0 + 4 * y2, q13 = 2 * y1 + 8 * y3;
    out[0] = y0;
    out[1] = p02 + p13;
    out[2] = p02 - p13;
    out[3] = q02 + q13;
    out[4] = q02 - q13;
    out[5] = y3;
}

/// Ĝ = A·∂y·Aᵀ for LANES tiles: rows + rr·row_stride + q·phase_stride is the vector of column phase
/// q (0 … 3) of tile row rr (0 … 3); the 36 points go to dst + point·plane.
static inline void gradient_tiles(const float *rows, size_t row_stride, size_t phase_stride, float *dst, size_t plane) {
    vf e[4][6];
    for (int rr = 0; rr < 4; rr++) {
        const float *p = rows + rr * row_stride;
        expand_a(vload(p), vload(p + phase_stride), vload(p + 2 * phase_stride), vload(p + 3 * phase_stride), e[rr]);
    }
    for (int j = 0; j < 6; j++) {
        vf v[6];
        expand_a(e[0][j], e[1][j], e[2][j], e[3][j], v);
        for (int i = 0; i < 6; i++) vstore(dst + (size_t)(6 * i + j) * plane, v[i]);
    }
}

/// f4_gradient for narrow images (f4_group): each segment's four rows split in registers and stored
/// at lane k·tw of four packed arrays per row, then one transform for the group.
static void f4_gradient_grouped(int oc, int h, int w, int batch, const float *grad_output, int r0, int r1,
                                const bk_f4_layout *l, float *out, float *packed) {
    int th = (h + 3) / 4, tw = l->tiles_wide, group = f4_group(tw);
    size_t plane = bk_f4_plane(oc, l->ldv);
    for (int o = 0; o < oc; o++) {
        for (int r = r0; r < r1; r += group) {
            int segments = r1 - r < group ? r1 - r : group;
            for (int k = 0; k < segments; k++) {
                int n = (r + k) / th, ty = (r + k) % th;
                const float *image = grad_output + ((size_t)o * batch + n) * h * w;
                if (o + 1 < oc) prefetch_rows(image + (size_t)batch * h * w, h, w, 4 * ty, 4 * ty + 4, 0);
                for (int rr = 0; rr < 4; rr++) {
                    vf p[4];
                    split_vectors(image, h, w, 4 * ty + rr, 0, p);
                    float *dst = packed + (size_t)4 * rr * PACKED + k * tw;
                    for (int q = 0; q < 4; q++) vstore(dst + q * PACKED, p[q]);
                }
            }
            gradient_tiles(packed, 4 * PACKED, PACKED, out + (size_t)o * l->ldv + (size_t)(r - r0) * tw, plane);
        }
    }
}

/// grad_output [oc, batch, h, w] → Ĝ [36][oc][ldv] for the chunk's tiles. Rows are split into four
/// phases, P_k[tx] = row[4tx + k] (zero outside), so LANES tiles go through each operation.
static void f4_gradient(int oc, int h, int w, int batch, const float *grad_output, int r0, int r1,
                        const bk_f4_layout *l, float *out, float *rows) {
    int th = (h + 3) / 4, tw = l->tiles_wide, phase = l->phase, length = 4 * phase;
    if (f4_group(tw) > 1) {
        f4_gradient_grouped(oc, h, w, batch, grad_output, r0, r1, l, out, rows);
        return;
    }
    size_t plane = bk_f4_plane(oc, l->ldv);
    for (int o = 0; o < oc; o++) {
        for (int r = r0; r < r1; r++) {
            int n = r / th, ty = r % th;
            const float *image = grad_output + ((size_t)o * batch + n) * h * w;
            if (o + 1 < oc) prefetch_rows(image + (size_t)batch * h * w, h, w, 4 * ty, 4 * ty + 4, 0);
            for (int rr = 0; rr < 4; rr++) {
                float *dst = rows + rr * length;
                int y = ty * 4 + rr;
                if (y >= h) {
                    __builtin_memset(dst, 0, sizeof(float) * length);
                    continue;
                }
                const float *src = image + (size_t)y * w;
                for (int j = 0; j < phase; j += LANES) split_group(src, 4 * j, w, j, phase, dst);
            }
            float *base = out + (size_t)o * l->ldv + (size_t)(r - r0) * tw;
            for (int tx = 0; tx < tw; tx += LANES) gradient_tiles(rows + tx, length, phase, base + tx, plane);
        }
    }
}

void BK_FN(bk_winograd_f4_weight_gradient_rows)(int c, int oc, int h, int w, int batch, const float *input,
                                                const float *grad_output, int r0, int r1, float *du, float *scratch) {
    if (r1 <= r0) return;
    bk_f4_layout l = bk_f4_layout_for(LANES, c, oc, w, r1 - r0);
    int count = (r1 - r0) * l.tiles_wide;
    float *v = scratch + l.v, *g = scratch + l.m, *packed = scratch + l.total;
    f4_input(c, 0, c, h, w, batch, input, r0, r1, &l, v, scratch + l.rows);
    f4_gradient(oc, h, w, batch, grad_output, r0, r1, &l, g, scratch + l.rows);
    for (int xi = 0; xi < 36; xi++) {
        pack_a_rows(oc, count, g + xi * bk_f4_plane(oc, l.ldv), l.ldv, packed);
        gemm(oc, c, count, packed, v + xi * bk_f4_plane(c, l.ldv), l.ldv, du + (size_t)xi * oc * c, c, 1, NULL,
             scratch + l.pack, B_TRANSPOSED, streams(oc, count));
    }
}

#include "kernels_pool.h"
#include "kernels_pool_train.h"
#include "kernels_norm.h"
#include "kernels_direct.h"
#include "kernels_im2col.h"
