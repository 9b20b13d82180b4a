// Max pooling for training, included by kernels_template.h at each level: the forward keeps each
// window's argmax (its cell's index in the plane, −1 for a window wholly in the padding), and the
// backward routes each output gradient to that cell. Windows are scanned row by row, and a cell
// replaces the best so far unless it is ≤ it (so the first of equal maxima wins, as the Swift loop
// this replaces did). The 2×2 stride-2 unpadded pool, the one a VGG-style network trains with, runs
// LANES windows per op; every other shape goes window by window.

static inline vint iota_times2(void) {
    vint v;
    for (int i = 0; i < LANES; i++) v[i] = 2 * i;  // a constant the compiler folds
    return v;
}

/// One window, scalar: the maximum and its index (−1 when no cell lies inside the image).
static inline void window_max(const float *src, int w, int ylo, int yhi, int xlo, int xhi, float *best, int *index) {
    float value = -__builtin_inff();
    int at = -1;
    for (int iy = ylo; iy < yhi; iy++) {
        for (int ix = xlo; ix < xhi; ix++) {
            float v = src[iy * w + ix];
            if (at < 0 || !(v <= value)) value = v, at = iy * w + ix;
        }
    }
    *best = value;
    *index = at;
}

static inline int is_pool_2x2(const bk_conv_shape *s) {
    return s->kh == 2 && s->kw == 2 && s->stride == 2 && s->padding == 0;
}

/// input [planes, h, w] → output [planes, oh, ow] and argmax [planes, oh, ow].
void BK_FN(bk_max_pool_argmax)(int planes, const bk_conv_shape *s, const float *input, float *output, int *argmax) {
    int h = s->h, w = s->w, oh = s->oh, ow = s->ow;
    for (int p = 0; p < planes; p++) {
        const float *src = input + (size_t)p * h * w;
        float *dst = output + (size_t)p * oh * ow;
        int *arg = argmax + (size_t)p * oh * ow;
        for (int y = 0; y < oh; y++, dst += ow, arg += ow) {
            int y0 = y * s->stride - s->padding, x = 0;
            if (is_pool_2x2(s)) {
                // Lane t: the window at columns 2(x + t), 2(x + t) + 1 of rows 2y, 2y + 1.
                const float *r0 = src + (size_t)y0 * w, *r1 = r0 + w;
                for (; 2 * (x + LANES) <= w; x += LANES) {
                    vf a0 = vload(r0 + 2 * x), a1 = vload(r0 + 2 * x + LANES);
                    vf b0 = vload(r1 + 2 * x), b1 = vload(r1 + 2 * x + LANES);
                    vf best = EVENS(a0, a1), candidates[3] = {ODDS(a0, a1), EVENS(b0, b1), ODDS(b0, b1)};
                    vint first = iota_times2() + (y0 * w + 2 * x), index = first;
                    int offsets[3] = {1, w, w + 1};
                    for (int c = 0; c < 3; c++) {
                        vint take = ~(candidates[c] <= best);
                        best = (vf)(((vint)candidates[c] & take) | ((vint)best & ~take));
                        index = ((first + offsets[c]) & take) | (index & ~take);
                    }
                    vstore(dst + x, best);
                    __builtin_memcpy(arg + x, &index, sizeof index);
                }
            }
            int ylo = y0 > 0 ? y0 : 0, yhi = y0 + s->kh < h ? y0 + s->kh : h;
            for (; x < ow; x++) {
                int x0 = x * s->stride - s->padding, xlo = x0 > 0 ? x0 : 0, xhi = x0 + s->kw < w ? x0 + s->kw : w;
                window_max(src, w, ylo, yhi, xlo, xhi, dst + x, arg + x);
            }
        }
    }
}

/// grad_output [planes, oh, ow] → grad_input [planes, h, w] (overwritten), each gradient added to
/// its window's argmax cell.
void BK_FN(bk_max_pool_backward)(int planes, const bk_conv_shape *s, const float *grad_output, const int *argmax,
                                 float *grad_input) {
    int h = s->h, w = s->w, oh = s->oh, ow = s->ow;
    for (int p = 0; p < planes; p++) {
        const float *dy = grad_output + (size_t)p * oh * ow;
        const int *arg = argmax + (size_t)p * oh * ow;
        float *dx = grad_input + (size_t)p * h * w;
        if (!is_pool_2x2(s)) {
            zero_run(dx, h * w);
            for (int i = 0; i < oh * ow; i++) {
                if (arg[i] >= 0) dx[arg[i]] += dy[i];
            }
            continue;
        }
        // Disjoint windows: each input cell is written once, with its window's gradient or zero,
        // two input rows per output row; a last odd row or column belongs to no window.
        for (int y = 0; y < oh; y++) {
            float *r0 = dx + (size_t)(2 * y) * w, *r1 = r0 + w;
            const float *g = dy + (size_t)y * ow;
            const int *a = arg + (size_t)y * ow;
            int x = 0;
            for (; 2 * (x + LANES) <= w; x += LANES) {
                vf gv = vload(g + x);
                vint at, first = iota_times2() + (2 * y * w + 2 * x);
                __builtin_memcpy(&at, a + x, sizeof at);
                vf q00 = (vf)((vint)gv & (at == first)), q01 = (vf)((vint)gv & (at == first + 1));
                vf q10 = (vf)((vint)gv & (at == first + w)), q11 = (vf)((vint)gv & (at == first + w + 1));
                vstore(r0 + 2 * x, ZIP_LO(q00, q01));
                vstore(r0 + 2 * x + LANES, ZIP_HI(q00, q01));
                vstore(r1 + 2 * x, ZIP_LO(q10, q11));
                vstore(r1 + 2 * x + LANES, ZIP_HI(q10, q11));
            }
            for (; x < ow; x++) {
                int base = 2 * y * w + 2 * x;
                r0[2 * x] = a[x] == base ? g[x] : 0.0f;
                r0[2 * x + 1] = a[x] == base + 1 ? g[x] : 0.0f;
                r1[2 * x] = a[x] == base + w ? g[x] : 0.0f;
                r1[2 * x + 1] = a[x] == base + w + 1 ? g[x] : 0.0f;
            }
            if (w > 2 * ow) r0[w - 1] = r1[w - 1] = 0.0f;
        }
        if (h > 2 * oh) zero_run(dx + (size_t)(h - 1) * w, w);
    }
}
