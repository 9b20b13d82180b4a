// BatchNorm's passes over one channel's m = N·H·W contiguous values, included by kernels_template.h
// at each level. Sums run in four float vectors per block of NORM_BLOCK values and then in double,
// which keeps long channels (m ≈ 10⁵) accurate; four accumulators keep the adds' latency hidden.

#define NORM_BLOCK 1024

static inline float hsum(vf v) {
    float total = 0;
    for (int i = 0; i < LANES; i++) total += v[i];
    return total;
}

/// g, zero where mask ≤ 0 (the fused ReLU's output was clamped there); g itself without a mask.
static inline vf masked(vf g, const float *mask) {
    if (!mask) return g;
    vint keep = vload(mask) > (vf){0};
    return (vf)((vint)g & keep);
}

static inline float masked1(float g, const float *mask) { return mask && !(*mask > 0) ? 0.0f : g; }

/// x [m] → Σ x and Σ (x − Σ x / m)², two passes (the second from cache for m up to L2's size).
void BK_FN(bk_norm_statistics)(const float *x, long m, double *sum, double *squares) {
    double total = 0;
    for (long i0 = 0; i0 < m; i0 += NORM_BLOCK) {
        long end = m - i0 < NORM_BLOCK ? m : i0 + NORM_BLOCK, i = i0;
        vf a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
        for (; i + 4 * LANES <= end; i += 4 * LANES) {
            a0 += vload(x + i); a1 += vload(x + i + LANES); a2 += vload(x + i + 2 * LANES); a3 += vload(x + i + 3 * LANES);
        }
        float tail = 0;
        for (; i < end; i++) tail += x[i];
        total += (double)hsum((a0 + a1) + (a2 + a3)) + tail;
    }
    float mean = m > 0 ? (float)(total / (double)m) : 0.0f;
    vf mv = vsplat(mean);
    double deviations = 0;
    for (long i0 = 0; i0 < m; i0 += NORM_BLOCK) {
        long end = m - i0 < NORM_BLOCK ? m : i0 + NORM_BLOCK, i = i0;
        vf a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
        for (; i + 4 * LANES <= end; i += 4 * LANES) {
            vf d0 = vload(x + i) - mv, d1 = vload(x + i + LANES) - mv;
            vf d2 = vload(x + i + 2 * LANES) - mv, d3 = vload(x + i + 3 * LANES) - mv;
            a0 += d0 * d0; a1 += d1 * d1; a2 += d2 * d2; a3 += d3 * d3;
        }
        float tail = 0;
        for (; i < end; i++) tail += (x[i] - mean) * (x[i] - mean);
        deviations += (double)hsum((a0 + a1) + (a2 + a3)) + tail;
    }
    *sum = total;
    *squares = deviations;
}

/// y [m] = relu?(x · scale + shift).
void BK_FN(bk_norm_apply)(const float *x, long m, float scale, float shift, int relu, float *y) {
    vf s = vsplat(scale), t = vsplat(shift);
    long i = 0;
    for (; i + LANES <= m; i += LANES) {
        vf v = vload(x + i) * s + t;
        vstore(y + i, relu ? vrelu(v) : v);
    }
    for (; i < m; i++) {
        float v = x[i] * scale + shift;
        y[i] = relu && v < 0 ? 0.0f : v;
    }
}

/// Σ g and Σ g·(x − mean), g = dy masked where mask [m] ≤ 0 (mask may be NULL).
void BK_FN(bk_norm_gradient_sums)(const float *dy, const float *x, const float *mask, long m, float mean,
                                  double *sum, double *weighted) {
    vf mv = vsplat(mean);
    double total = 0, product = 0;
    for (long i0 = 0; i0 < m; i0 += NORM_BLOCK) {
        long end = m - i0 < NORM_BLOCK ? m : i0 + NORM_BLOCK, i = i0;
        vf s0 = {0}, s1 = {0}, p0 = {0}, p1 = {0};
        for (; i + 2 * LANES <= end; i += 2 * LANES) {
            vf g0 = masked(vload(dy + i), mask ? mask + i : NULL);
            vf g1 = masked(vload(dy + i + LANES), mask ? mask + i + LANES : NULL);
            s0 += g0; s1 += g1;
            p0 += g0 * (vload(x + i) - mv); p1 += g1 * (vload(x + i + LANES) - mv);
        }
        float tail_sum = 0, tail_product = 0;
        for (; i < end; i++) {
            float g = masked1(dy[i], mask ? mask + i : NULL);
            tail_sum += g;
            tail_product += g * (x[i] - mean);
        }
        total += (double)hsum(s0 + s1) + tail_sum;
        product += (double)hsum(p0 + p1) + tail_product;
    }
    *sum = total;
    *weighted = product;
}

/// dx [m] = k · (g − mean_g − (x − mean) · slope), g = dy masked where mask ≤ 0 (mask may be NULL).
void BK_FN(bk_norm_input_gradient)(const float *dy, const float *x, const float *mask, long m, float k,
                                   float mean_g, float mean, float slope, float *dx) {
    vf kv = vsplat(k), gv = vsplat(mean_g), mv = vsplat(mean), sv = vsplat(slope);
    long i = 0;
    for (; i + LANES <= m; i += LANES) {
        vf g = masked(vload(dy + i), mask ? mask + i : NULL);
        vstore(dx + i, kv * (g - gv - (vload(x + i) - mv) * sv));
    }
    for (; i < m; i++) dx[i] = k * (masked1(dy[i], mask ? mask + i : NULL) - mean_g - (x[i] - mean) * slope);
}
