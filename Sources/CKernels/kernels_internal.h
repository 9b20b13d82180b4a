#pragma once
// Declarations shared by the dispatcher and the per-level translation units.
#include "CKernels.h"
#include <stdint.h>
#if defined(__x86_64__) || defined(__i386__)
// Masked loads (vload_lanes in kernels_template.h). Included here, before a level's target
// attributes are pushed, so the header's own functions keep the attributes they declare.
#include <immintrin.h>
#endif

#define BK_DECLARE_LEVEL(suffix)                                                                          \
    void bk_gemm_##suffix(int m, int n, int k, const float *packed_a, const float *b, long ldb, float *c,   \
                          long ldc, int accumulate, const bk_epilogue *epilogue, float *workspace);        \
    size_t bk_gemm_workspace_##suffix(void);                                                             \
    void bk_gemm_in_place_##suffix(int m, int n, int k, const float *packed_a, const float *b, long ldb,    \
                                   float *c, long ldc, int accumulate, const bk_epilogue *epilogue);       \
    void bk_winograd_f4_rows_##suffix(int c, int oc, int h, int w, int batch, const float *input,          \
                                      const float *packed_u, const bk_epilogue *epilogue, float *output,   \
                                      int r0, int r1, float *scratch);                                     \
    void bk_winograd_f4_input_channels_##suffix(int c, int c0, int c1, int h, int w, int batch,            \
                                                const float *input, int tile_rows, float *v, float *scratch); \
    void bk_winograd_f4_output_channels_##suffix(int c, int oc, int o0, int o1, int h, int w, int batch,   \
                                                 const float *v, const float *packed_u,                     \
                                                 const bk_epilogue *epilogue, float *output, int tile_rows, \
                                                 float *scratch);                                           \
    void bk_winograd_f4_weight_gradient_rows_##suffix(int c, int oc, int h, int w, int batch,               \
                                                      const float *input, const float *grad_output, int r0, \
                                                      int r1, float *du, float *scratch);                   \
    void bk_max_pool_##suffix(int planes, const bk_conv_shape *s, const float *input, float *output,        \
                              float *row);                                                              \
    size_t bk_direct_scratch_##suffix(const bk_conv_shape *s);                                            \
    void bk_direct_conv_rows_##suffix(const bk_conv_shape *s, int batch, const float *input,               \
                                      const float *packed, const bk_epilogue *epilogue, float *output,     \
                                      int r0, int r1, float *scratch);                                     \
    void bk_im2col_##suffix(const bk_conv_shape *s, int batch, const float *input, long j0, long j1,        \
                            float *col, long ldc);                                                          \
    void bk_max_pool_argmax_##suffix(int planes, const bk_conv_shape *s, const float *input, float *output, \
                                     int *argmax);                                                          \
    void bk_max_pool_backward_##suffix(int planes, const bk_conv_shape *s, const float *grad_output,         \
                                       const int *argmax, float *grad_input);                               \
    void bk_norm_statistics_##suffix(const float *x, long m, double *sum, double *squares);                 \
    void bk_norm_apply_##suffix(const float *x, long m, float scale, float shift, int relu, float *y);      \
    void bk_norm_gradient_sums_##suffix(const float *dy, const float *x, const float *mask, long m,         \
                                        float mean, double *sum, double *weighted);                         \
    void bk_norm_input_gradient_##suffix(const float *dy, const float *x, const float *mask, long m,        \
                                         float k, float mean_g, float mean, float slope, float *dx);

BK_DECLARE_LEVEL(portable)
BK_DECLARE_LEVEL(avx2)
BK_DECLARE_LEVEL(avx512)

/// Winograd F(4×4) scratch layout for `lanes`-wide vectors, shared by the size query and the kernel.
typedef struct {
    int tiles_wide, phase, ldv;
    size_t v, m, rows, pack, total;  // offsets (floats) of each region, and the total
} bk_f4_layout;

static inline int bk_round_up(int x, int to) { return (x + to - 1) / to * to; }

/// Floats from one Winograd point's [channels, ldv] matrix to the next. The transforms read or write
/// all 36 points at once; one cache line of padding keeps those 36 streams from landing on the same
/// few L1 sets when channels · ldv is a multiple of a large power of two (as it usually is).
static inline size_t bk_f4_plane(int channels, int ldv) { return (size_t)channels * ldv + 16; }

static inline bk_f4_layout bk_f4_layout_for(int lanes, int c, int oc, int width, int tile_rows) {
    bk_f4_layout l;
    l.tiles_wide = (width + 3) / 4;
    // One phase array per input column phase, whole vectors holding every tile and the one after
    // the last (tile tx reads P_0 and P_1 at tx + 1). A further vector of slack made the row stage
    // of the input transform do up to half as much work again for nothing (16 tiles at 16 lanes).
    l.phase = bk_round_up(l.tiles_wide + 1, lanes);
    // Transformed tiles of a chunk, one row per (point, channel); a vector may run past the last tile.
    l.ldv = bk_round_up(tile_rows * l.tiles_wide + lanes, lanes);
    l.v = 0;
    l.m = l.v + 36 * bk_f4_plane(c, l.ldv);
    l.rows = l.m + 36 * bk_f4_plane(oc, l.ldv);
    // A ring of 8 split input rows and a zero row; for narrow images (kernels_template.h's
    // f4_group), six window rows of six packed arrays of two vectors each.
    size_t rows = (size_t)9 * 4 * l.phase, grouped = (size_t)6 * 6 * 2 * lanes;
    l.pack = l.rows + (rows > grouped ? rows : grouped);
    // The GEMM's packed slice of V: KC (256) × NC (48 vectors) floats, as kernels_template.h blocks it.
    l.total = l.pack + (size_t)256 * 48 * lanes;
    return l;
}

static inline size_t bk_winograd_f4_scratch(int lanes, int c, int oc, int width, int tile_rows) {
    return bk_f4_layout_for(lanes, c, oc, width, tile_rows).total;
}
