// CKernels under AddressSanitizer and UndefinedBehaviorSanitizer (scripts/check-kernels-sanitized):
// every level this CPU runs, against the naive references, over many small shapes, so an
// out-of-bounds vector load that a value test cannot see (a lane read past a buffer and then
// discarded) stops the check. Buffers are allocated at their exact sizes, so ASan's redzones sit
// right after them. Exit status 1 on any mismatch; ASan aborts on any bad access.
#include "CKernels.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static unsigned state = 12345;
static float rnd(void) {
    state = state * 1664525u + 1013904223u;
    return (float)(state >> 8) / (float)(1u << 24) - 0.5f;
}
static float *random_floats(size_t n) {
    float *p = malloc(n * sizeof(float) + 1);
    for (size_t i = 0; i < n; i++) p[i] = rnd();
    return p;
}
static int out_size(int n, int k, int s, int p) { return n + 2 * p < k ? 0 : (n + 2 * p - k) / s + 1; }
static int close_enough(const float *a, const float *b, size_t n, float tolerance) {
    for (size_t i = 0; i < n; i++) {
        if (fabsf(a[i] - b[i]) > tolerance * (1 + fabsf(b[i]))) return 0;
    }
    return 1;
}

static int failures = 0, cases = 0;
static void check(int ok, const char *kernel, bk_level level, const bk_conv_shape *s) {
    cases++;
    if (ok) return;
    failures++;
    fprintf(stderr, "%s at %s differs from its reference: c %d oc %d %dx%d k %dx%d s %d p %d\n", kernel,
            bk_level_name(level), s->c, s->oc, s->h, s->w, s->kh, s->kw, s->stride, s->padding);
}

/// Max pooling for training: the forward with argmax and the backward, `planes` planes of `s`.
static void pool_training(bk_level level, bk_conv_shape s, int planes) {
    size_t in_n = (size_t)planes * s.h * s.w, out_n = (size_t)planes * s.oh * s.ow;
    float *in = random_floats(in_n), *dy = random_floats(out_n);
    for (size_t i = 0; i < in_n; i++) in[i] = roundf(in[i] * 8) / 8;  // ties: the first must win
    float *out = malloc(out_n * sizeof(float)), *expected = malloc(out_n * sizeof(float));
    int *argmax = malloc(out_n * sizeof(int)), *expected_argmax = malloc(out_n * sizeof(int));
    float *dx = malloc(in_n * sizeof(float)), *expected_dx = malloc(in_n * sizeof(float));
    bk_max_pool_argmax(level, planes, &s, in, out, argmax);
    bk_reference_max_pool_argmax(planes, &s, in, expected, expected_argmax);
    int same = close_enough(out, expected, out_n, 0);
    for (size_t i = 0; i < out_n; i++) same = same && argmax[i] == expected_argmax[i];
    check(same, "bk_max_pool_argmax", level, &s);
    bk_max_pool_backward(level, planes, &s, dy, argmax, dx);
    bk_reference_max_pool_backward(planes, &s, dy, expected_argmax, expected_dx);
    check(close_enough(dx, expected_dx, in_n, 0), "bk_max_pool_backward", level, &s);
    free(in), free(dy), free(out), free(expected), free(argmax), free(expected_argmax), free(dx), free(expected_dx);
}

/// Direct convolution (split in two row ranges, as two workers would) and max pooling.
static void direct_and_pool(bk_level level, bk_conv_shape s, int batch) {
    int taps = s.c * s.kh * s.kw;
    size_t in_n = (size_t)s.c * batch * s.h * s.w, out_n = (size_t)s.oc * batch * s.oh * s.ow;
    float *in = random_floats(in_n), *weight = random_floats((size_t)s.oc * taps);
    float *bias = random_floats(s.oc), *residual = random_floats(out_n);
    float *expected = malloc(out_n * sizeof(float)), *out = malloc(out_n * sizeof(float));
    float *packed = malloc(bk_direct_weight_floats(s.oc, taps) * sizeof(float));
    float *scratch = malloc(bk_direct_scratch_floats(level, &s) * sizeof(float));
    bk_direct_pack_weights(s.oc, taps, weight, packed);
    bk_epilogue epilogue = {bias, residual, 0, 1};
    bk_reference_conv(&s, batch, in, weight, &epilogue, expected);
    int rows = batch * s.oh, mid = rows / 3;
    bk_direct_conv_rows(level, &s, batch, in, packed, &epilogue, out, 0, mid, scratch);
    bk_direct_conv_rows(level, &s, batch, in, packed, &epilogue, out, mid, rows, scratch);
    check(close_enough(out, expected, out_n, 1e-4f), "bk_direct_conv_rows", level, &s);
    if (s.padding < s.kh) {  // pooling: every window holds a cell
        size_t pooled = (size_t)s.c * batch * s.oh * s.ow;
        float *row = malloc(bk_max_pool_row_floats(&s) * sizeof(float));
        float *pool = malloc(pooled * sizeof(float)), *pool_expected = malloc(pooled * sizeof(float));
        bk_max_pool(level, s.c * batch, &s, in, pool, row);
        bk_reference_max_pool(s.c * batch, &s, in, pool_expected);
        check(close_enough(pool, pool_expected, pooled, 0), "bk_max_pool", level, &s);
        free(row), free(pool), free(pool_expected);
        pool_training(level, s, s.c * batch);
    }
    free(in), free(weight), free(bias), free(residual), free(expected), free(out), free(packed), free(scratch);
}

/// im2col over three column ranges (whole, inside rows, across images) written into a matrix with
/// rows one float wider than the range, which must stay NaN: nothing read or written outside.
static void im2col(bk_level level, bk_conv_shape s, int batch) {
    long total = (long)batch * s.oh * s.ow, rows = (long)s.c * s.kh * s.kw;
    float *in = random_floats((size_t)s.c * batch * s.h * s.w);
    long ranges[][2] = {{0, total}, {1, total - 1}, {s.ow / 2, total / 2 + 1}};
    for (int r = 0; r < 3; r++) {
        long j0 = ranges[r][0], j1 = ranges[r][1], ldc = j1 - j0 + 1;
        if (j1 <= j0) continue;
        float *col = malloc((size_t)(rows * ldc) * sizeof(float)), *expected = malloc((size_t)(rows * ldc) * sizeof(float));
        for (long i = 0; i < rows * ldc; i++) col[i] = expected[i] = NAN;
        bk_im2col(level, &s, batch, in, j0, j1, col, ldc);
        bk_reference_im2col(&s, batch, in, j0, j1, expected, ldc);
        int same = 1;
        for (long i = 0; i < rows * ldc; i++) same &= isnan(expected[i]) ? isnan(col[i]) : col[i] == expected[i];
        check(same, "bk_im2col", level, &s);
        free(col), free(expected);
    }
    free(in);
}

/// Winograd F(4×4) forward ("same" 3×3) against the direct reference.
static void winograd(bk_level level, int c, int oc, int h, int w, int batch) {
    bk_conv_shape s = {c, oc, h, w, 3, 3, 1, 1, h, w};
    size_t in_n = (size_t)c * batch * h * w, out_n = (size_t)oc * batch * h * w;
    float *in = random_floats(in_n), *weight = random_floats((size_t)oc * c * 9);
    float *bias = random_floats(oc), *residual = random_floats(out_n);
    float *expected = malloc(out_n * sizeof(float)), *out = malloc(out_n * sizeof(float));
    float *u = malloc(bk_winograd_f4_weight_floats(oc, c) * sizeof(float));
    bk_winograd_f4_pack_weights(oc, c, weight, u);
    bk_epilogue epilogue = {bias, residual, 0, 1};
    bk_reference_conv(&s, batch, in, weight, &epilogue, expected);
    int rows = batch * ((h + 3) / 4), chunk = bk_winograd_f4_chunk_rows(level, c, oc, w);
    float *scratch = malloc(bk_winograd_f4_scratch_floats(level, c, oc, w, chunk) * sizeof(float));
    for (int r = 0; r < rows; r += chunk) {
        int end = r + chunk < rows ? r + chunk : rows;
        bk_winograd_f4_forward_rows(level, c, oc, h, w, batch, in, u, &epilogue, out, r, end, scratch);
    }
    check(close_enough(out, expected, out_n, 1e-3f), "bk_winograd_f4_forward_rows", level, &s);
    free(in), free(weight), free(bias), free(residual), free(expected), free(out), free(u), free(scratch);
}

/// Winograd F(4×4) weight gradient (∂U over chunks of tile rows, then Gᵀ·∂U·G) against direct loops:
/// ∂w[o, ci, ky, kx] = Σ ∂y[o, n, y, x] · input[ci, n, y + ky − 1, x + kx − 1].
static void winograd_weight_gradient(bk_level level, int c, int oc, int h, int w, int batch) {
    bk_conv_shape s = {c, oc, h, w, 3, 3, 1, 1, h, w};
    size_t in_n = (size_t)c * batch * h * w, out_n = (size_t)oc * batch * h * w, du_n = (size_t)36 * oc * c;
    float *in = random_floats(in_n), *dy = random_floats(out_n);
    float *expected = calloc((size_t)oc * c * 9, sizeof(float)), *dw = calloc((size_t)oc * c * 9, sizeof(float));
    for (int o = 0; o < oc; o++)
        for (int ci = 0; ci < c; ci++)
            for (int k = 0; k < 9; k++)
                for (int n = 0; n < batch; n++)
                    for (int y = 0; y < h; y++)
                        for (int x = 0; x < w; x++) {
                            int iy = y + k / 3 - 1, ix = x + k % 3 - 1;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                            expected[(o * c + ci) * 9 + k] += dy[(((size_t)o * batch + n) * h + y) * w + x] *
                                                              in[(((size_t)ci * batch + n) * h + iy) * w + ix];
                        }
    // Chunks of two tile rows, whatever the production chunk: several chunks accumulate into ∂U.
    int rows = batch * ((h + 3) / 4), chunk = 2;
    float *scratch = malloc(bk_winograd_f4_weight_gradient_scratch_floats(level, c, oc, w, chunk) * sizeof(float));
    float *du = calloc(du_n, sizeof(float));
    for (int r = 0; r < rows; r += chunk) {
        int end = r + chunk < rows ? r + chunk : rows;
        bk_winograd_f4_weight_gradient_rows(level, c, oc, h, w, batch, in, dy, r, end, du, scratch);
    }
    bk_winograd_f4_accumulate_weight_gradient(oc, c, du, dw);
    check(close_enough(dw, expected, (size_t)oc * c * 9, 1e-3f), "bk_winograd_f4_weight_gradient_rows", level, &s);
    free(in), free(dy), free(expected), free(dw), free(scratch), free(du);
}

/// The packed GEMM with its epilogue, b read with a row stride wider than n; in place, b is exactly
/// k rows of the least stride `bk_gemm_in_place` allows, so a read past its contract is caught.
static void gemm(bk_level level, int m, int n, int k, int in_place) {
    long ldb = in_place ? (n + BK_GEMM_IN_PLACE_COLUMNS - 1) / BK_GEMM_IN_PLACE_COLUMNS * BK_GEMM_IN_PLACE_COLUMNS : n + 3;
    long ldc = n + 1;
    float *a = random_floats((size_t)m * k), *b = random_floats((size_t)k * ldb), *bias = random_floats(m);
    float *residual = random_floats((size_t)m * ldc);
    float *c = random_floats((size_t)m * ldc), *expected = malloc((size_t)m * ldc * sizeof(float));
    for (size_t i = 0; i < (size_t)m * ldc; i++) expected[i] = c[i];
    float *packed = malloc(bk_packed_a_floats(m, k) * sizeof(float));
    float *workspace = malloc(bk_gemm_workspace_floats(level) * sizeof(float));
    bk_pack_a(m, k, a, k, packed);
    bk_epilogue epilogue = {bias, residual, ldc, 1};
    bk_reference_gemm(m, n, k, a, k, b, ldb, expected, ldc, 1, &epilogue);
    if (in_place) bk_gemm_in_place(level, m, n, k, packed, b, ldb, c, ldc, 1, &epilogue);
    else bk_gemm(level, m, n, k, packed, b, ldb, c, ldc, 1, &epilogue, workspace);
    bk_conv_shape s = {k, m, 1, n, 1, 1, 1, 0, 1, n};
    check(close_enough(c, expected, (size_t)m * ldc, 1e-4f), in_place ? "bk_gemm_in_place" : "bk_gemm", level, &s);
    free(a), free(b), free(bias), free(residual), free(c), free(expected), free(packed), free(workspace);
}

/// BatchNorm's four passes over one channel of m values, with a fused ReLU's mask.
static void norm(bk_level level, long m) {
    float *x = random_floats((size_t)m), *dy = random_floats((size_t)m), *mask = random_floats((size_t)m);
    float *y = malloc((size_t)m * sizeof(float) + 1), *expected = malloc((size_t)m * sizeof(float) + 1);
    bk_conv_shape s = {1, 1, 1, (int)m, 1, 1, 1, 0, 1, (int)m};
    double sum, squares, reference_sum, reference_squares;
    bk_norm_statistics(level, x, m, &sum, &squares);
    bk_reference_norm_statistics(x, m, &reference_sum, &reference_squares);
    check(fabs(sum - reference_sum) < 1e-4 * (1 + m) && fabs(squares - reference_squares) < 1e-4 * (1 + m),
          "bk_norm_statistics", level, &s);
    bk_norm_apply(level, x, m, 1.5f, -0.25f, 1, y);
    bk_reference_norm_apply(x, m, 1.5f, -0.25f, 1, expected);
    check(close_enough(y, expected, (size_t)m, 1e-6f), "bk_norm_apply", level, &s);
    bk_norm_gradient_sums(level, dy, x, mask, m, 0.1f, &sum, &squares);
    bk_reference_norm_gradient_sums(dy, x, mask, m, 0.1f, &reference_sum, &reference_squares);
    check(fabs(sum - reference_sum) < 1e-4 * (1 + m) && fabs(squares - reference_squares) < 1e-4 * (1 + m),
          "bk_norm_gradient_sums", level, &s);
    bk_norm_input_gradient(level, dy, x, mask, m, 0.7f, 0.05f, 0.1f, 0.3f, y);
    bk_reference_norm_input_gradient(dy, x, mask, m, 0.7f, 0.05f, 0.1f, 0.3f, expected);
    check(close_enough(y, expected, (size_t)m, 1e-5f), "bk_norm_input_gradient", level, &s);
    free(x), free(dy), free(mask), free(y), free(expected);
}

int main(void) {
    for (int level = BK_PORTABLE; level <= BK_AVX512; level++) {
        if (!bk_level_supported((bk_level)level)) continue;
        int before = cases;
        for (int c = 1; c <= 4; c++) {
            for (int k = 1; k <= 7; k += 2) {
                for (int stride = 1; stride <= 3; stride++) {
                    for (int padding = 0; padding <= 3; padding++) {
                        for (int w = 1; w <= 41; w += 8) {
                            int h = w + 3;
                            bk_conv_shape s = {c, 7, h, w, k, k, stride, padding,
                                               out_size(h, k, stride, padding), out_size(w, k, stride, padding)};
                            if (s.oh > 0 && s.ow > 0) {
                                direct_and_pool((bk_level)level, s, 2);
                                im2col((bk_level)level, s, 2);
                            }
                        }
                    }
                }
            }
        }
        // Rows of 6 and 7 vectors at 16 lanes (4 + 2 and 4 + 3 in the direct kernel's tiles).
        direct_and_pool((bk_level)level, (bk_conv_shape){3, 7, 5, 90, 3, 3, 1, 1, 5, 90}, 2);
        direct_and_pool((bk_level)level, (bk_conv_shape){3, 8, 9, 200, 7, 7, 2, 3, 5, 100}, 2);
        // im2col's padded copy in several strips (rows of 700), and rows too wide for it (3,000).
        im2col((bk_level)level, (bk_conv_shape){2, 1, 30, 700, 3, 3, 1, 1, 30, 700}, 2);
        im2col((bk_level)level, (bk_conv_shape){2, 1, 3, 3000, 3, 3, 2, 1, 2, 1500}, 2);
        // {5, 36, 8, 16}: chunks of 16 tiles, one vector at 16 lanes, read in place by the GEMM. Widths up
        // to 32 share vectors between tile rows at 16 lanes; at 28 a row's outputs end mid-vector.
        int shapes[][4] = {{1, 1, 4, 4}, {3, 5, 7, 9}, {8, 4, 1, 1}, {7, 13, 13, 6}, {2, 4, 11, 70}, {33, 9, 5, 37},
                           {5, 36, 8, 16}, {4, 7, 9, 28}};
        for (int i = 0; i < 8; i++) winograd((bk_level)level, shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3], 2);
        for (int i = 0; i < 8; i++) {
            winograd_weight_gradient((bk_level)level, shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3], 2);
        }
        // {7, 17, 3} and {13, 49, 300} end one column past a vector at 16 lanes, {7, 25, 33} at 8 and
        // {6, 21, 10} at 4: a vector's tile and a one-column edge.
        int products[][3] = {{1, 1, 1}, {6, 16, 5}, {7, 17, 3}, {13, 49, 300}, {31, 70, 27}, {64, 33, 520},
                             {12, 48, 20}, {6, 28, 5}, {12, 52, 17}, {7, 25, 33}, {6, 21, 10}};
        for (int i = 0; i < 11; i++) {
            for (int in_place = 0; in_place <= 1; in_place++) {
                gemm((bk_level)level, products[i][0], products[i][1], products[i][2], in_place);
            }
        }
        for (long m = 1; m <= 70; m++) norm((bk_level)level, m);
        for (int w = 2; w <= 70; w += 3) {  // the 2×2 stride-2 pool's vector path, odd sizes included
            for (int h = 2; h <= 5; h++) pool_training((bk_level)level, (bk_conv_shape){1, 1, h, w, 2, 2, 2, 0, h / 2, w / 2}, 3);
        }
        norm((bk_level)level, 5000);
        printf("kernels-sanitized: %s: %d cases\n", bk_level_name((bk_level)level), cases - before);
    }
    if (failures) fprintf(stderr, "kernels-sanitized: %d of %d cases differ from their references\n", failures, cases);
    return failures ? 1 : 0;
}
