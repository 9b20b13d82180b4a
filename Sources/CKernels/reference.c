// Naive references the kernels are tested against: plain loops, no blocking, no vectors.
#include "CKernels.h"

void bk_reference_gemm(int m, int n, int k, const float *a, long lda, const float *b, long ldb,
                       float *c, long ldc, int accumulate, const bk_epilogue *epilogue) {
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            double sum = accumulate ? c[i * ldc + j] : 0;
            for (int p = 0; p < k; p++) sum += (double)a[i * lda + p] * b[p * ldb + j];
            float value = (float)sum;
            if (epilogue) {
                if (epilogue->bias) value += epilogue->bias[i];
                if (epilogue->residual) value += epilogue->residual[i * epilogue->ldr + j];
                if (epilogue->relu && value < 0) value = 0;
            }
            c[i * ldc + j] = value;
        }
    }
}

void bk_reference_max_pool(int planes, int h, int w, int kh, int kw, int stride, int padding, const float *input,
                           float *output) {
    int oh = bk_pool_out(h, kh, stride, padding), ow = bk_pool_out(w, kw, stride, padding);
    for (int p = 0; p < planes; p++) {
        for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
                float best = -__builtin_inff();
                for (int ky = 0; ky < kh; ky++) {
                    for (int kx = 0; kx < kw; kx++) {
                        int iy = y * stride - padding + ky, ix = x * stride - padding + kx;
                        if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                        float value = input[((size_t)p * h + iy) * w + ix];
                        if (value > best) best = value;
                    }
                }
                output[((size_t)p * oh + y) * ow + x] = best;
            }
        }
    }
}
