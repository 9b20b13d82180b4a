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
