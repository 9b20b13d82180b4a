// Max pooling for inference (no argmax), included by kernels_template.h at each level: per output
// row, the maximum over the window's input rows for every column, then each window's maximum along
// that one row, LANES windows per op for strides 1 and 2. The row sits in `row` with −∞ on both
// sides, so no window needs a bounds check. The stem pool of a ResNet (3×3/2 over 64 × 112²) is the
// case this is for: done lane by lane it cost as much as a convolution.

static inline vf vmax(vf a, vf b) { return __builtin_elementwise_max(a, b); }

/// input [planes, h, w] → output [planes, oh, ow].
void BK_FN(bk_max_pool)(int planes, const bk_conv_shape *s, const float *input, float *output, float *row) {
    int h = s->h, w = s->w, kh = s->kh, kw = s->kw, stride = s->stride, padding = s->padding, oh = s->oh, ow = s->ow;
    size_t length = bk_max_pool_row_floats(s);
    for (size_t i = 0; i < length; i++) row[i] = -__builtin_inff();
    float *rmax = row + padding;  // row[j] is input column j − padding
    for (int p = 0; p < planes; p++) {
        const float *src = input + (size_t)p * h * w;
        float *dst = output + (size_t)p * oh * ow;
        for (int y = 0; y < oh; y++, dst += ow) {
            int y0 = y * stride - padding, first = y0 > 0 ? y0 : 0, end = y0 + kh < h ? y0 + kh : h;
            if (first >= end) {  // a window wholly in the padding: no cell, −∞
                for (int x = 0; x < ow; x++) dst[x] = -__builtin_inff();
                continue;
            }
            __builtin_memcpy(rmax, src + (size_t)first * w, (size_t)w * sizeof(float));
            for (int iy = first + 1; iy < end; iy++) {
                const float *r = src + (size_t)iy * w;
                int x = 0;
                for (; x + LANES <= w; x += LANES) vstore(rmax + x, vmax(vload(rmax + x), vload(r + x)));
                for (; x < w; x++) rmax[x] = r[x] > rmax[x] ? r[x] : rmax[x];
            }
            int x = 0;
            if (stride == 1) {
                for (; x + LANES <= ow; x += LANES) {
                    vf best = vload(row + x);
                    for (int k = 1; k < kw; k++) best = vmax(best, vload(row + x + k));
                    vstore(dst + x, best);
                }
            } else if (stride == 2) {
                for (; x + LANES <= ow; x += LANES) {
                    const float *q = row + 2 * x;
                    vf best = EVENS(vload(q), vload(q + LANES));
                    for (int k = 1; k < kw; k++) best = vmax(best, EVENS(vload(q + k), vload(q + k + LANES)));
                    vstore(dst + x, best);
                }
            }
            for (; x < ow; x++) {
                const float *q = row + (size_t)x * stride;
                float best = q[0];
                for (int k = 1; k < kw; k++) best = q[k] > best ? q[k] : best;
                dst[x] = best;
            }
        }
    }
}
