// Weight packing, the same at every level: done once when a model version loads.
#include "CKernels.h"
#include <string.h>

size_t bk_packed_a_floats(int m, int k) { return (size_t)((m + BK_MR - 1) / BK_MR) * BK_MR * (size_t)k; }

// a [m, k] → [panel][k][MR]: the micro-kernel reads the MR values of one column with one pointer bump.
void bk_pack_a(int m, int k, const float *a, long lda, float *packed) {
    for (int i0 = 0; i0 < m; i0 += BK_MR) {
        int rows = m - i0 < BK_MR ? m - i0 : BK_MR;
        float *panel = packed + (size_t)i0 * k;
        for (int p = 0; p < k; p++) {
            for (int i = 0; i < BK_MR; i++) panel[p * BK_MR + i] = i < rows ? a[(size_t)(i0 + i) * lda + p] : 0.0f;
        }
    }
}

size_t bk_winograd_f4_weight_floats(int oc, int c) { return 36 * bk_packed_a_floats(oc, c); }

// G for F(4×4, 3×3), 6 × 3 (Lavin & Gray): U = G·g·Gᵀ.
static const float G[6][3] = {
    {1.0f / 4, 0, 0},
    {-1.0f / 6, -1.0f / 6, -1.0f / 6},
    {-1.0f / 6, 1.0f / 6, -1.0f / 6},
    {1.0f / 24, 1.0f / 12, 1.0f / 6},
    {1.0f / 24, -1.0f / 12, 1.0f / 6},
    {0, 0, 1},
};

// weight [oc, c, 3, 3] → 36 packed [oc, c] matrices in panel order. The 36 matrices lie a power of
// two apart when oc and c are (64 KB at 128 × 128), so writing all 36 values of one weight at once
// sends 36 streams to the same cache sets: 1.4 ms at 128 × 128 for 0.08 ms at 64 × 64. Blocks of 32
// input channels of one panel are transformed into a small buffer first, then each matrix's run
// (32 · MR floats, contiguous in panel order) is copied out whole. Training transforms every
// Winograd layer's weights twice a step.
#define PACK_BLOCK 32
void bk_winograd_f4_pack_weights(int oc, int c, const float *weight, float *packed) {
    size_t per_point = bk_packed_a_floats(oc, c);
    float block[36][PACK_BLOCK * BK_MR];
    for (int o0 = 0; o0 < oc; o0 += BK_MR) {
        size_t panel = (size_t)o0 * c;
        for (int k0 = 0; k0 < c; k0 += PACK_BLOCK) {
            int count = c - k0 < PACK_BLOCK ? c - k0 : PACK_BLOCK;
            for (int k = 0; k < count; k++) {
                for (int r = 0; r < BK_MR; r++) {
                    float *dst = &block[0][k * BK_MR + r];
                    if (o0 + r >= oc) {  // the last panel's padding rows
                        for (int xi = 0; xi < 36; xi++) dst[xi * PACK_BLOCK * BK_MR] = 0;
                        continue;
                    }
                    const float *g = weight + ((size_t)(o0 + r) * c + k0 + k) * 9;
                    float t[6][3];
                    for (int i = 0; i < 6; i++) {
                        for (int a = 0; a < 3; a++) t[i][a] = G[i][0] * g[a] + G[i][1] * g[3 + a] + G[i][2] * g[6 + a];
                    }
                    for (int i = 0; i < 6; i++) {
                        for (int j = 0; j < 6; j++) {
                            dst[(i * 6 + j) * PACK_BLOCK * BK_MR] = t[i][0] * G[j][0] + t[i][1] * G[j][1] + t[i][2] * G[j][2];
                        }
                    }
                }
            }
            for (int xi = 0; xi < 36; xi++) {
                memcpy(packed + xi * per_point + panel + (size_t)k0 * BK_MR, block[xi], sizeof(float) * count * BK_MR);
            }
        }
    }
}

// ∂U [36][oc·c] → ∂W [oc·c][3][3] += Gᵀ·∂U·G per weight. The 36 matrices are read a block of 32
// weights at a time into a small buffer, for the same reason the forward transform writes them so.
void bk_winograd_f4_accumulate_weight_gradient(int oc, int c, const float *du, float *grad_weight) {
    size_t plane = (size_t)oc * c;
    float block[36][PACK_BLOCK];
    for (size_t k0 = 0; k0 < plane; k0 += PACK_BLOCK) {
        int count = plane - k0 < PACK_BLOCK ? (int)(plane - k0) : PACK_BLOCK;
        for (int xi = 0; xi < 36; xi++) memcpy(block[xi], du + xi * plane + k0, sizeof(float) * count);
        for (int k = 0; k < count; k++) {
            float t[3][6];
            for (int a = 0; a < 3; a++) {
                for (int j = 0; j < 6; j++) {
                    float sum = 0;
                    for (int i = 0; i < 6; i++) sum += G[i][a] * block[i * 6 + j][k];
                    t[a][j] = sum;
                }
            }
            float *dst = grad_weight + (k0 + k) * 9;
            for (int a = 0; a < 3; a++) {
                for (int b = 0; b < 3; b++) {
                    float sum = 0;
                    for (int j = 0; j < 6; j++) sum += t[a][j] * G[j][b];
                    dst[a * 3 + b] += sum;
                }
            }
        }
    }
}

size_t bk_direct_weight_floats(int oc, int taps) {
    return (size_t)((oc + BK_DIRECT_OCB - 1) / BK_DIRECT_OCB) * BK_DIRECT_OCB * (size_t)taps;
}

// weight [oc, taps] → [group][taps][OCB]: the direct convolution broadcasts the OCB weights of one
// tap from one pointer bump.
void bk_direct_pack_weights(int oc, int taps, const float *weight, float *packed) {
    for (int o0 = 0; o0 < oc; o0 += BK_DIRECT_OCB) {
        float *group = packed + (size_t)o0 * taps;
        for (int t = 0; t < taps; t++) {
            for (int i = 0; i < BK_DIRECT_OCB; i++) {
                group[t * BK_DIRECT_OCB + i] = o0 + i < oc ? weight[(size_t)(o0 + i) * taps + t] : 0.0f;
            }
        }
    }
}
