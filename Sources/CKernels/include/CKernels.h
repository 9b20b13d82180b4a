#pragma once
// The engine's own CPU kernels, chosen once per process by what the CPU offers (cpuid), as MLAS,
// XNNPACK and ggml do: every kernel is compiled three times from one template (kernels_template.h)
// at 4 lanes (portable: SSE2 on x86-64, NEON elsewhere), 8 lanes (AVX2+FMA) and 16 lanes (AVX-512),
// and `bk_level` picks the table. Buffers are plain float arrays; shapes are in the comments.
#include <stddef.h>

typedef enum {
    BK_PORTABLE = 0,  // 4 lanes, no FMA: runs on any x86-64 (and any clang target)
    BK_AVX2 = 1,      // 8 lanes, FMA
    BK_AVX512 = 2,    // 16 lanes, FMA (AVX-512 F/BW/VL/DQ)
} bk_level;

/// Rows per panel of a packed A matrix (the micro-kernel's height), the same at every level so a
/// packed weight works with whichever level runs it.
#define BK_MR 6

/// 1 when this CPU and OS can run `level`.
int bk_level_supported(bk_level level);
/// The best supported level, lowered by the environment variable BOUNDARY_KERNELS
/// (`portable`, `avx2`, `avx512`) when set; a level the CPU lacks falls back to the best it has.
/// Read once; every later call returns the same value.
bk_level bk_default_level(void);
/// "portable", "avx2", "avx512".
const char *bk_level_name(bk_level level);
/// Floats per vector at `level` (4, 8, 16).
int bk_level_lanes(bk_level level);

/// What happens to each output value before it is stored: relu?(x + bias[row] + residual[row, col]).
typedef struct {
    const float *bias;      // [rows] or NULL
    const float *residual;  // same shape as the output, leading dimension `ldr`, or NULL
    long ldr;
    int relu;
} bk_epilogue;

/// Floats a packed copy of an [m, k] matrix needs: ceil(m / BK_MR) panels of k × BK_MR.
size_t bk_packed_a_floats(int m, int k);
/// a [m, k] (row stride lda) → packed [ceil(m/MR)][k][MR], zero-padded below row m.
void bk_pack_a(int m, int k, const float *a, long lda, float *packed);

/// Floats of workspace `bk_gemm` needs at `level` (a packed slice of b; under 1 MiB).
size_t bk_gemm_workspace_floats(bk_level level);
/// c [m, n] (ldc) = (accumulate ? c : 0) + A·b, A packed by `bk_pack_a` ([m, k]), b [k, n] (ldb);
/// then the epilogue (NULL: none) on every element. Single-threaded; callers split n.
void bk_gemm(bk_level level, int m, int n, int k, const float *packed_a, const float *b, long ldb,
             float *c, long ldc, int accumulate, const bk_epilogue *epilogue, float *workspace);
/// Widest b tile any level's micro-kernel reads: `bk_gemm_in_place` reads every row of b up to the
/// next multiple of this past n.
#define BK_GEMM_IN_PLACE_COLUMNS 32
/// `bk_gemm` reading b where it lies instead of copying it into panels, for a b written once to be
/// multiplied once (an unfolded patch block at batch 1, which every worker would otherwise copy).
/// ldb ≥ n rounded up to BK_GEMM_IN_PLACE_COLUMNS, and b holds k·ldb floats: the columns past n
/// feed only lanes that are not stored. An ldb that is not a power of two keeps rows off one cache set.
void bk_gemm_in_place(bk_level level, int m, int n, int k, const float *packed_a, const float *b, long ldb,
                      float *c, long ldc, int accumulate, const bk_epilogue *epilogue);

/// Naive reference: c [m, n] = (accumulate ? c : 0) + a [m, k] · b [k, n], then the epilogue.
void bk_reference_gemm(int m, int n, int k, const float *a, long lda, const float *b, long ldb,
                       float *c, long ldc, int accumulate, const bk_epilogue *epilogue);

/// Winograd F(4×4, 3×3) ("same" 3×3 stride-1 convolutions).
/// Floats the transformed, packed weights need: 36 packed [oc, c] matrices.
size_t bk_winograd_f4_weight_floats(int oc, int c);
/// weight [oc, c, 3, 3] → U = G·g·Gᵀ per (o, c), 36 matrices [oc, c], each packed by `bk_pack_a`.
void bk_winograd_f4_pack_weights(int oc, int c, const float *weight, float *packed);
/// ∂U [36][oc, c] (unpacked) → grad_weight [oc, c, 3, 3] += Gᵀ·∂U·G per (o, c): the weight
/// gradient's way back from the 36 Winograd points.
void bk_winograd_f4_accumulate_weight_gradient(int oc, int c, const float *du, float *grad_weight);
/// Tile rows whose transformed tiles and GEMM results (36·(c + oc) floats per tile) stay within
/// about 640 KiB (L2), at least 1: the forward chunk's budget.
int bk_winograd_f4_budget_rows(int c, int oc, int width);
/// Tile rows per chunk for `bk_winograd_f4_weight_gradient_rows`: four budgets. Every chunk reads and
/// writes the worker's whole ∂U (36·oc·c floats, 2.4 MB at 128 → 128) once, in its 36 products, so
/// deeper chunks pass over it less often; that outweighs their tiles no longer fitting in L2.
int bk_winograd_f4_gradient_chunk_rows(int c, int oc, int width);
/// Tile rows per chunk for `bk_winograd_f4_forward_rows`: as many as keep a chunk's transformed
/// tiles and GEMM results within about 640 KiB (L2), chosen so the chunk's tile count fills the
/// GEMM's column panels (2 vectors of tiles) as nearly as possible, since a part-filled panel costs a
/// full one. A chunk may pass the budget when that is what it takes to fill one panel.
int bk_winograd_f4_chunk_rows(bk_level level, int c, int oc, int width);
/// Scratch floats `bk_winograd_f4_forward_rows` needs for `tile_rows` rows of tiles.
size_t bk_winograd_f4_scratch_floats(bk_level level, int c, int oc, int width, int tile_rows);
/// input [c, batch, h, w] → output [oc, batch, h, w] for tile rows [r0, r1), where row r is tile
/// row r % ceil(h/4) of image r / ceil(h/4): input transform, 36 GEMMs with the packed weights,
/// output transform and epilogue (residual laid out like the output, ldr ignored), all in `scratch`.
void bk_winograd_f4_forward_rows(bk_level level, int c, int oc, int h, int w, int batch,
                                 const float *input, const float *packed_u, const bk_epilogue *epilogue,
                                 float *output, int r0, int r1, float *scratch);

/// The same convolution split by channels instead of tiles, for few tiles and many channels (batch
/// 1, late layers), where splitting tiles would make every worker stream all of the weights: all
/// workers first transform their share of the input channels of all `tile_rows` tile rows into one
/// shared V, then each runs the GEMMs and output transform for its share of the output channels.
/// Floats of the shared V.
size_t bk_winograd_f4_split_v_floats(bk_level level, int c, int width, int tile_rows);
/// Scratch floats one worker needs for `oc_share` output channels (the input phase needs less).
size_t bk_winograd_f4_split_scratch_floats(bk_level level, int oc_share, int width, int tile_rows);
/// Input channels [c0, c1) of every tile row → v.
void bk_winograd_f4_input_channels(bk_level level, int c, int c0, int c1, int h, int w, int batch,
                                   const float *input, float *v, float *scratch);
/// Output channels [o0, o1) (o0 a multiple of BK_MR) from the complete v.
void bk_winograd_f4_output_channels(bk_level level, int c, int oc, int o0, int o1, int h, int w, int batch,
                                    const float *v, const float *packed_u, const bk_epilogue *epilogue,
                                    float *output, float *scratch);

/// The F(4×4) weight gradient for tile rows [r0, r1): input [c, batch, h, w] and grad_output
/// [oc, batch, h, w] → ∂U [36][oc][c] (unpacked, accumulated into), ∂U[ξ] += (A·∂y·Aᵀ)[ξ]·V[ξ]ᵀ.
/// The caller sums the workers' ∂U and maps it back to 3×3 (∂g = Gᵀ·∂U·G).
size_t bk_winograd_f4_weight_gradient_scratch_floats(bk_level level, int c, int oc, int width, int tile_rows);
void bk_winograd_f4_weight_gradient_rows(bk_level level, int c, int oc, int h, int w, int batch, const float *input,
                                         const float *grad_output, int r0, int r1, float *du, float *scratch);

/// The shape of one convolution or pooling window: channel counts (c, oc; pooling ignores them),
/// input size, window, stride, padding, and the output size (oh, ow), which the caller computes
/// (ConvGeometry), so its formula lives in one place.
typedef struct {
    int c, oc, h, w, kh, kw, stride, padding, oh, ow;
} bk_conv_shape;

/// Floats of the row scratch `bk_max_pool` needs: one row with its padding on both sides, as far
/// as the last window reaches, and 16 more: the stride-2 path loads pairs of vectors and keeps
/// their even lanes, so its last load's unused odd lane lies one float past the last window.
static inline size_t bk_max_pool_row_floats(const bk_conv_shape *s) {
    int windows = s->ow > 0 ? (s->ow - 1) * s->stride + s->kw : 0;
    return (size_t)(s->padding + s->w > windows ? s->padding + s->w : windows) + 16;
}
/// Max pooling without argmax (inference): input [planes, h, w] → output [planes, oh, ow], the
/// maximum of each kh × kw window (kernel ≥ 1); cells outside the image never win, and a window
/// with none gives −∞. NaN inputs are not propagated.
void bk_max_pool(bk_level level, int planes, const bk_conv_shape *s, const float *input, float *output, float *row);
/// Naive reference for `bk_max_pool`.
void bk_reference_max_pool(int planes, const bk_conv_shape *s, const float *input, float *output);
/// Max pooling for training: as `bk_max_pool`, and argmax [planes, oh, ow] gets each window's
/// maximum's index in its plane (iy·w + ix; the first of equal maxima; −1 for a window with no cell).
void bk_max_pool_argmax(bk_level level, int planes, const bk_conv_shape *s, const float *input, float *output,
                        int *argmax);
/// grad_output [planes, oh, ow] → grad_input [planes, h, w] (overwritten): each gradient added to its
/// window's argmax cell, zero elsewhere.
void bk_max_pool_backward(bk_level level, int planes, const bk_conv_shape *s, const float *grad_output,
                          const int *argmax, float *grad_input);
/// Naive references for the two above.
void bk_reference_max_pool_argmax(int planes, const bk_conv_shape *s, const float *input, float *output, int *argmax);
void bk_reference_max_pool_backward(int planes, const bk_conv_shape *s, const float *grad_output, const int *argmax,
                                    float *grad_input);

/// Output channels per register tile of the direct convolution: the packed weight's group width.
#define BK_DIRECT_OCB 6
/// Floats the direct convolution's packed weight needs: ceil(oc / OCB) groups of taps × OCB.
size_t bk_direct_weight_floats(int oc, int taps);
/// weight [oc, taps] (taps = c·kh·kw) → packed [ceil(oc / OCB)][taps][OCB], zero past row oc.
void bk_direct_pack_weights(int oc, int taps, const float *weight, float *packed);
/// Scratch floats one worker needs for `bk_direct_conv_rows` at `level`.
size_t bk_direct_scratch_floats(bk_level level, const bk_conv_shape *s);
/// Direct convolution, for few input channels (an RGB stem), where im2col's unfolded matrix would
/// cost as much as the GEMM: input [c, batch, h, w] → output [oc, batch, oh, ow] for output rows
/// [r0, r1), row r being row r % oh of image r / oh, with the epilogue (bias per output channel;
/// residual laid out like the output, ldr ignored). Any kernel size, stride ≥ 1 and padding.
void bk_direct_conv_rows(bk_level level, const bk_conv_shape *s, int batch, const float *input,
                         const float *packed, const bk_epilogue *epilogue, float *output, int r0, int r1,
                         float *scratch);
/// Naive reference for `bk_direct_conv_rows` over all rows: weight [oc, c, kh, kw], unpacked.
void bk_reference_conv(const bk_conv_shape *s, int batch, const float *input, const float *weight,
                       const bk_epilogue *epilogue, float *output);

/// im2col: input [c, batch, h, w] → col [c·kh·kw, j1 − j0] (row stride ldc) for patch-matrix
/// columns [j0, j1), column j being output pixel (n, oy, ox) = n·oh·ow + oy·ow + ox and row
/// (ci, ky, kx) = (ci·kh + ky)·kw + kx; cells outside the image are 0. Reads and writes nothing
/// outside those columns, so workers may fill disjoint rows or columns of one matrix at once.
void bk_im2col(bk_level level, const bk_conv_shape *s, int batch, const float *input, long j0, long j1, float *col,
               long ldc);
/// Naive reference for `bk_im2col`.
void bk_reference_im2col(const bk_conv_shape *s, int batch, const float *input, long j0, long j1, float *col,
                         long ldc);

/// BatchNorm over one channel's m contiguous values (N·H·W), for training. Statistics: Σ x and
/// Σ (x − mean)², mean = Σ x / m, summed in float blocks and then in double.
void bk_norm_statistics(bk_level level, const float *x, long m, double *sum, double *squares);
/// y [m] = relu?(x · scale + shift); y may be x.
void bk_norm_apply(bk_level level, const float *x, long m, float scale, float shift, int relu, float *y);
/// Σ g and Σ g·(x − mean) with g = dy, zeroed where mask ≤ 0 (a fused ReLU's output; mask may be NULL).
void bk_norm_gradient_sums(bk_level level, const float *dy, const float *x, const float *mask, long m, float mean,
                           double *sum, double *weighted);
/// dx [m] = k · (g − mean_g − (x − mean) · slope), g masked as in `bk_norm_gradient_sums`.
void bk_norm_input_gradient(bk_level level, const float *dy, const float *x, const float *mask, long m, float k,
                            float mean_g, float mean, float slope, float *dx);
/// Naive references for the four above, summing in double element by element.
void bk_reference_norm_statistics(const float *x, long m, double *sum, double *squares);
void bk_reference_norm_apply(const float *x, long m, float scale, float shift, int relu, float *y);
void bk_reference_norm_gradient_sums(const float *dy, const float *x, const float *mask, long m, float mean,
                                     double *sum, double *weighted);
void bk_reference_norm_input_gradient(const float *dy, const float *x, const float *mask, long m, float k,
                                      float mean_g, float mean, float slope, float *dx);

/// A spin-wait hint (`pause` on x86): lets the sibling hyper-thread run and saves power while a
/// worker waits a few microseconds for the next job.
static inline void bk_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}
