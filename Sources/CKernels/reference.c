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

void bk_reference_max_pool(int planes, const bk_conv_shape *s, const float *input, float *output) {
    int h = s->h, w = s->w, kh = s->kh, kw = s->kw, stride = s->stride, padding = s->padding, oh = s->oh, ow = s->ow;
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

void bk_reference_max_pool_argmax(int planes, const bk_conv_shape *s, const float *input, float *output, int *argmax) {
    int h = s->h, w = s->w, oh = s->oh, ow = s->ow;
    for (int p = 0; p < planes; p++) {
        for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
                float best = -__builtin_inff();
                int index = -1;
                for (int ky = 0; ky < s->kh; ky++) {
                    for (int kx = 0; kx < s->kw; kx++) {
                        int iy = y * s->stride - s->padding + ky, ix = x * s->stride - s->padding + kx;
                        if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                        float value = input[((size_t)p * h + iy) * w + ix];
                        if (index < 0 || !(value <= best)) best = value, index = iy * w + ix;
                    }
                }
                output[((size_t)p * oh + y) * ow + x] = best;
                argmax[((size_t)p * oh + y) * ow + x] = index;
            }
        }
    }
}

void bk_reference_max_pool_backward(int planes, const bk_conv_shape *s, const float *grad_output, const int *argmax,
                                    float *grad_input) {
    size_t plane = (size_t)s->h * s->w, out_plane = (size_t)s->oh * s->ow;
    for (size_t i = 0; i < (size_t)planes * plane; i++) grad_input[i] = 0;
    for (int p = 0; p < planes; p++) {
        for (size_t i = 0; i < out_plane; i++) {
            int index = argmax[p * out_plane + i];
            if (index >= 0) grad_input[p * plane + index] += grad_output[p * out_plane + i];
        }
    }
}

void bk_reference_conv(const bk_conv_shape *s, int batch, const float *input, const float *weight,
                       const bk_epilogue *epilogue, float *output) {
    size_t plane = (size_t)s->oh * s->ow;
    for (int o = 0; o < s->oc; o++) {
        for (int n = 0; n < batch; n++) {
            for (int y = 0; y < s->oh; y++) {
                for (int x = 0; x < s->ow; x++) {
                    double sum = 0;
                    for (int ci = 0; ci < s->c; ci++) {
                        for (int ky = 0; ky < s->kh; ky++) {
                            for (int kx = 0; kx < s->kw; kx++) {
                                int iy = y * s->stride - s->padding + ky, ix = x * s->stride - s->padding + kx;
                                if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w) continue;
                                sum += (double)weight[((o * s->c + ci) * s->kh + ky) * s->kw + kx] *
                                       input[(((size_t)ci * batch + n) * s->h + iy) * s->w + ix];
                            }
                        }
                    }
                    size_t at = ((size_t)o * batch + n) * plane + (size_t)y * s->ow + x;
                    float value = (float)sum;
                    if (epilogue) {
                        if (epilogue->bias) value += epilogue->bias[o];
                        if (epilogue->residual) value += epilogue->residual[at];
                        if (epilogue->relu && value < 0) value = 0;
                    }
                    output[at] = value;
                }
            }
        }
    }
}

void bk_reference_im2col(const bk_conv_shape *s, int batch, const float *input, long j0, long j1, float *col,
                         long ldc) {
    long plane = (long)s->oh * s->ow;
    for (int c = 0; c < s->c; c++) {
        for (int ky = 0; ky < s->kh; ky++) {
            for (int kx = 0; kx < s->kw; kx++) {
                float *row = col + ((long)(c * s->kh + ky) * s->kw + kx) * ldc;
                for (long j = j0; j < j1; j++) {
                    long n = j / plane, y = j % plane / s->ow, x = j % plane % s->ow;
                    long iy = y * s->stride - s->padding + ky, ix = x * s->stride - s->padding + kx;
                    int inside = iy >= 0 && iy < s->h && ix >= 0 && ix < s->w;
                    row[j - j0] = inside ? input[(((long)c * batch + n) * s->h + iy) * s->w + ix] : 0;
                }
            }
        }
    }
}

void bk_reference_norm_statistics(const float *x, long m, double *sum, double *squares) {
    double total = 0, deviations = 0;
    for (long i = 0; i < m; i++) total += x[i];
    double mean = m > 0 ? total / (double)m : 0;
    for (long i = 0; i < m; i++) deviations += (x[i] - mean) * (x[i] - mean);
    *sum = total;
    *squares = deviations;
}

void bk_reference_norm_apply(const float *x, long m, float scale, float shift, int relu, float *y) {
    for (long i = 0; i < m; i++) {
        float v = x[i] * scale + shift;
        y[i] = relu && v < 0 ? 0.0f : v;
    }
}

static float reference_masked(const float *dy, const float *mask, long i) { return mask && !(mask[i] > 0) ? 0.0f : dy[i]; }

void bk_reference_norm_gradient_sums(const float *dy, const float *x, const float *mask, long m, float mean,
                                     double *sum, double *weighted) {
    double total = 0, product = 0;
    for (long i = 0; i < m; i++) {
        double g = reference_masked(dy, mask, i);
        total += g;
        product += g * ((double)x[i] - mean);
    }
    *sum = total;
    *weighted = product;
}

void bk_reference_norm_input_gradient(const float *dy, const float *x, const float *mask, long m, float k,
                                      float mean_g, float mean, float slope, float *dx) {
    for (long i = 0; i < m; i++) dx[i] = k * (reference_masked(dy, mask, i) - mean_g - (x[i] - mean) * slope);
}
