#include "CKernels.h"
#include "CCPUID.h"
#include "kernels_internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ccpuid_features read_features(void) {
    ccpuid_features f;
    ccpuid_read(&f);
    return f;
}

int bk_level_supported(bk_level level) {
    // cpuid is slow (and traps under some hypervisors): read it once. Racing first calls store
    // the same bytes.
    static ccpuid_features f;
    static volatile int known = 0;
    if (!known) { f = read_features(); known = 1; }
    switch (level) {
    case BK_PORTABLE: return 1;
    case BK_AVX2: return f.avx2 && f.fma;
    case BK_AVX512: return f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx2 && f.fma;
    }
    return 0;
}

static bk_level best_supported(void) {
    if (bk_level_supported(BK_AVX512)) return BK_AVX512;
    if (bk_level_supported(BK_AVX2)) return BK_AVX2;
    return BK_PORTABLE;
}

static bk_level choose(void) {
    bk_level best = best_supported();
    const char *forced = getenv("BOUNDARY_KERNELS");
    if (forced == NULL || forced[0] == 0) return best;
    bk_level wanted;
    if (strcmp(forced, "portable") == 0) wanted = BK_PORTABLE;
    else if (strcmp(forced, "avx2") == 0) wanted = BK_AVX2;
    else if (strcmp(forced, "avx512") == 0) wanted = BK_AVX512;
    else {
        fprintf(stderr, "BOUNDARY_KERNELS=%s is not one of portable, avx2, avx512; using %s\n", forced,
                bk_level_name(best));
        return best;
    }
    if (!bk_level_supported(wanted)) {
        fprintf(stderr, "BOUNDARY_KERNELS=%s: this CPU cannot run it; using %s\n", forced, bk_level_name(best));
        return best;
    }
    return wanted;
}

bk_level bk_default_level(void) {
    // Racing first calls compute the same answer; the int store is atomic on every target we build for.
    static volatile int cached = -1;
    if (cached < 0) cached = (int)choose();
    return (bk_level)cached;
}

const char *bk_level_name(bk_level level) {
    switch (level) {
    case BK_PORTABLE: return "portable";
    case BK_AVX2: return "avx2";
    case BK_AVX512: return "avx512";
    }
    return "unknown";
}

int bk_level_lanes(bk_level level) {
    switch (level) {
    case BK_PORTABLE: return 4;
    case BK_AVX2: return 8;
    case BK_AVX512: return 16;
    }
    return 4;
}

// A level the CPU cannot run is refused here rather than faulting on an illegal instruction.
static bk_level runnable(bk_level level) { return bk_level_supported(level) ? level : BK_PORTABLE; }

size_t bk_gemm_workspace_floats(bk_level level) {
    switch (runnable(level)) {
    case BK_AVX512: return bk_gemm_workspace_avx512();
    case BK_AVX2: return bk_gemm_workspace_avx2();
    case BK_PORTABLE: return bk_gemm_workspace_portable();
    }
    return 0;
}

void bk_gemm(bk_level level, int m, int n, int k, const float *packed_a, const float *b, long ldb,
             float *c, long ldc, int accumulate, const bk_epilogue *epilogue, float *workspace) {
    switch (runnable(level)) {
    case BK_AVX512: bk_gemm_avx512(m, n, k, packed_a, b, ldb, c, ldc, accumulate, epilogue, workspace); return;
    case BK_AVX2: bk_gemm_avx2(m, n, k, packed_a, b, ldb, c, ldc, accumulate, epilogue, workspace); return;
    case BK_PORTABLE: bk_gemm_portable(m, n, k, packed_a, b, ldb, c, ldc, accumulate, epilogue, workspace); return;
    }
}

void bk_gemm_in_place(bk_level level, int m, int n, int k, const float *packed_a, const float *b, long ldb,
                      float *c, long ldc, int accumulate, const bk_epilogue *epilogue) {
    switch (runnable(level)) {
    case BK_AVX512: bk_gemm_in_place_avx512(m, n, k, packed_a, b, ldb, c, ldc, accumulate, epilogue); return;
    case BK_AVX2: bk_gemm_in_place_avx2(m, n, k, packed_a, b, ldb, c, ldc, accumulate, epilogue); return;
    case BK_PORTABLE: bk_gemm_in_place_portable(m, n, k, packed_a, b, ldb, c, ldc, accumulate, epilogue); return;
    }
}

size_t bk_winograd_f4_scratch_floats(bk_level level, int c, int oc, int width, int tile_rows) {
    return bk_winograd_f4_scratch(bk_level_lanes(runnable(level)), c, oc, width, tile_rows);
}

int bk_winograd_f4_budget_rows(int c, int oc, int width) {
    int rows = 160 * 1024 / (36 * (c + oc)) / ((width + 3) / 4);
    return rows > 1 ? rows : 1;
}

int bk_winograd_f4_gradient_chunk_rows(int c, int oc, int width) { return 4 * bk_winograd_f4_budget_rows(c, oc, width); }

int bk_winograd_f4_chunk_rows(bk_level level, int c, int oc, int width) {
    int panel = 2 * bk_level_lanes(runnable(level)), tiles_wide = (width + 3) / 4;
    int budget = bk_winograd_f4_budget_rows(c, oc, width), one_panel = (panel + tiles_wide - 1) / tiles_wide;
    int limit = budget > one_panel ? budget : one_panel;
    // Most tiles per computed column (filled ÷ panels · panel); ties go to the larger chunk.
    int best = 1;
    long best_filled = 0, best_computed = 1;
    for (int rows = 1; rows <= limit; rows++) {
        long filled = (long)rows * tiles_wide, computed = (filled + panel - 1) / panel * panel;
        if (filled * best_computed >= best_filled * computed) { best = rows; best_filled = filled; best_computed = computed; }
    }
    return best;
}

void bk_winograd_f4_forward_rows(bk_level level, int c, int oc, int h, int w, int batch,
                                 const float *input, const float *packed_u, const bk_epilogue *epilogue,
                                 float *output, int r0, int r1, float *scratch) {
    switch (runnable(level)) {
    case BK_AVX512:
        bk_winograd_f4_rows_avx512(c, oc, h, w, batch, input, packed_u, epilogue, output, r0, r1, scratch);
        return;
    case BK_AVX2:
        bk_winograd_f4_rows_avx2(c, oc, h, w, batch, input, packed_u, epilogue, output, r0, r1, scratch);
        return;
    case BK_PORTABLE:
        bk_winograd_f4_rows_portable(c, oc, h, w, batch, input, packed_u, epilogue, output, r0, r1, scratch);
        return;
    }
}

size_t bk_winograd_f4_split_v_floats(bk_level level, int c, int width, int tile_rows) {
    bk_f4_layout l = bk_f4_layout_for(bk_level_lanes(runnable(level)), c, 0, width, tile_rows);
    return l.m;  // the V region alone: 36 planes of [c, ldv]
}

size_t bk_winograd_f4_split_scratch_floats(bk_level level, int oc_share, int width, int tile_rows) {
    return bk_f4_layout_for(bk_level_lanes(runnable(level)), 0, oc_share, width, tile_rows).total;
}

void bk_winograd_f4_input_channels(bk_level level, int c, int c0, int c1, int h, int w, int batch,
                                   const float *input, float *v, float *scratch) {
    int rows = batch * ((h + 3) / 4);
    switch (runnable(level)) {
    case BK_AVX512: bk_winograd_f4_input_channels_avx512(c, c0, c1, h, w, batch, input, rows, v, scratch); return;
    case BK_AVX2: bk_winograd_f4_input_channels_avx2(c, c0, c1, h, w, batch, input, rows, v, scratch); return;
    case BK_PORTABLE: bk_winograd_f4_input_channels_portable(c, c0, c1, h, w, batch, input, rows, v, scratch); return;
    }
}

void bk_winograd_f4_output_channels(bk_level level, int c, int oc, int o0, int o1, int h, int w, int batch,
                                    const float *v, const float *packed_u, const bk_epilogue *epilogue,
                                    float *output, float *scratch) {
    int rows = batch * ((h + 3) / 4);
    switch (runnable(level)) {
    case BK_AVX512:
        bk_winograd_f4_output_channels_avx512(c, oc, o0, o1, h, w, batch, v, packed_u, epilogue, output, rows, scratch);
        return;
    case BK_AVX2:
        bk_winograd_f4_output_channels_avx2(c, oc, o0, o1, h, w, batch, v, packed_u, epilogue, output, rows, scratch);
        return;
    case BK_PORTABLE:
        bk_winograd_f4_output_channels_portable(c, oc, o0, o1, h, w, batch, v, packed_u, epilogue, output, rows, scratch);
        return;
    }
}

size_t bk_winograd_f4_weight_gradient_scratch_floats(bk_level level, int c, int oc, int width, int tile_rows) {
    bk_f4_layout l = bk_f4_layout_for(bk_level_lanes(runnable(level)), c, oc, width, tile_rows);
    return l.total + bk_packed_a_floats(oc, l.ldv);  // plus one packed Ĝ[ξ] ([oc, ldv] at most)
}

void bk_winograd_f4_weight_gradient_rows(bk_level level, int c, int oc, int h, int w, int batch, const float *input,
                                         const float *grad_output, int r0, int r1, float *du, float *scratch) {
    switch (runnable(level)) {
    case BK_AVX512:
        bk_winograd_f4_weight_gradient_rows_avx512(c, oc, h, w, batch, input, grad_output, r0, r1, du, scratch);
        return;
    case BK_AVX2:
        bk_winograd_f4_weight_gradient_rows_avx2(c, oc, h, w, batch, input, grad_output, r0, r1, du, scratch);
        return;
    case BK_PORTABLE:
        bk_winograd_f4_weight_gradient_rows_portable(c, oc, h, w, batch, input, grad_output, r0, r1, du, scratch);
        return;
    }
}

void bk_max_pool(bk_level level, int planes, const bk_conv_shape *s, const float *input, float *output, float *row) {
    switch (runnable(level)) {
    case BK_AVX512: bk_max_pool_avx512(planes, s, input, output, row); return;
    case BK_AVX2: bk_max_pool_avx2(planes, s, input, output, row); return;
    case BK_PORTABLE: bk_max_pool_portable(planes, s, input, output, row); return;
    }
}

size_t bk_direct_scratch_floats(bk_level level, const bk_conv_shape *s) {
    switch (runnable(level)) {
    case BK_AVX512: return bk_direct_scratch_avx512(s);
    case BK_AVX2: return bk_direct_scratch_avx2(s);
    case BK_PORTABLE: return bk_direct_scratch_portable(s);
    }
    return 0;
}

void bk_direct_conv_rows(bk_level level, const bk_conv_shape *s, int batch, const float *input,
                         const float *packed, const bk_epilogue *epilogue, float *output, int r0, int r1,
                         float *scratch) {
    switch (runnable(level)) {
    case BK_AVX512: bk_direct_conv_rows_avx512(s, batch, input, packed, epilogue, output, r0, r1, scratch); return;
    case BK_AVX2: bk_direct_conv_rows_avx2(s, batch, input, packed, epilogue, output, r0, r1, scratch); return;
    case BK_PORTABLE: bk_direct_conv_rows_portable(s, batch, input, packed, epilogue, output, r0, r1, scratch); return;
    }
}

void bk_im2col(bk_level level, const bk_conv_shape *s, int batch, const float *input, long j0, long j1, float *col,
               long ldc) {
    switch (runnable(level)) {
    case BK_AVX512: bk_im2col_avx512(s, batch, input, j0, j1, col, ldc); return;
    case BK_AVX2: bk_im2col_avx2(s, batch, input, j0, j1, col, ldc); return;
    case BK_PORTABLE: bk_im2col_portable(s, batch, input, j0, j1, col, ldc); return;
    }
}

void bk_norm_statistics(bk_level level, const float *x, long m, double *sum, double *squares) {
    switch (runnable(level)) {
    case BK_AVX512: bk_norm_statistics_avx512(x, m, sum, squares); return;
    case BK_AVX2: bk_norm_statistics_avx2(x, m, sum, squares); return;
    case BK_PORTABLE: bk_norm_statistics_portable(x, m, sum, squares); return;
    }
}

void bk_norm_apply(bk_level level, const float *x, long m, float scale, float shift, int relu, float *y) {
    switch (runnable(level)) {
    case BK_AVX512: bk_norm_apply_avx512(x, m, scale, shift, relu, y); return;
    case BK_AVX2: bk_norm_apply_avx2(x, m, scale, shift, relu, y); return;
    case BK_PORTABLE: bk_norm_apply_portable(x, m, scale, shift, relu, y); return;
    }
}

void bk_norm_gradient_sums(bk_level level, const float *dy, const float *x, const float *mask, long m, float mean,
                           double *sum, double *weighted) {
    switch (runnable(level)) {
    case BK_AVX512: bk_norm_gradient_sums_avx512(dy, x, mask, m, mean, sum, weighted); return;
    case BK_AVX2: bk_norm_gradient_sums_avx2(dy, x, mask, m, mean, sum, weighted); return;
    case BK_PORTABLE: bk_norm_gradient_sums_portable(dy, x, mask, m, mean, sum, weighted); return;
    }
}

void bk_norm_input_gradient(bk_level level, const float *dy, const float *x, const float *mask, long m, float k,
                            float mean_g, float mean, float slope, float *dx) {
    switch (runnable(level)) {
    case BK_AVX512: bk_norm_input_gradient_avx512(dy, x, mask, m, k, mean_g, mean, slope, dx); return;
    case BK_AVX2: bk_norm_input_gradient_avx2(dy, x, mask, m, k, mean_g, mean, slope, dx); return;
    case BK_PORTABLE: bk_norm_input_gradient_portable(dy, x, mask, m, k, mean_g, mean, slope, dx); return;
    }
}

void bk_max_pool_argmax(bk_level level, int planes, const bk_conv_shape *s, const float *input, float *output,
                        int *argmax) {
    switch (runnable(level)) {
    case BK_AVX512: bk_max_pool_argmax_avx512(planes, s, input, output, argmax); return;
    case BK_AVX2: bk_max_pool_argmax_avx2(planes, s, input, output, argmax); return;
    case BK_PORTABLE: bk_max_pool_argmax_portable(planes, s, input, output, argmax); return;
    }
}

void bk_max_pool_backward(bk_level level, int planes, const bk_conv_shape *s, const float *grad_output,
                          const int *argmax, float *grad_input) {
    switch (runnable(level)) {
    case BK_AVX512: bk_max_pool_backward_avx512(planes, s, grad_output, argmax, grad_input); return;
    case BK_AVX2: bk_max_pool_backward_avx2(planes, s, grad_output, argmax, grad_input); return;
    case BK_PORTABLE: bk_max_pool_backward_portable(planes, s, grad_output, argmax, grad_input); return;
    }
}
