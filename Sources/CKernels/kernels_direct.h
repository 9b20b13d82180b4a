// Direct convolution for layers with few input channels (an RGB stem: 3 → 64, 7×7/2), included by
// kernels_template.h at each level. There im2col's patch matrix has few rows (c·kh·kw = 27 or 147)
// and as many columns as output pixels, so unfolding it costs about as much as the GEMM it feeds
// (the 7×7 stem writes a 7.4 MB matrix at batch 1). Here each padded input row is split once into
// `stride` phase arrays, P_q[i] = row[i·stride + q − padding] (zero outside the image), so tap
// (ky, kx) of LANES consecutive output columns is one contiguous load from P_{kx % stride} at
// x + kx / stride, and a register tile of BK_DIRECT_OCB output channels × DX vectors of columns
// accumulates over every tap with the weights broadcast from the packed [tap][OCB] groups.

// Vectors of output columns per register tile: BK_DIRECT_OCB × DX accumulators, DX inputs and one
// broadcast weight must fit the register file (16 vector registers below AVX-512, 32 with it); at
// 4 × 3 with 16 registers the compiler spilled an accumulator on every tap.
#if LANES == 16
#define DX 4
#else
#define DX 2
#endif

typedef struct {
    int owp, length;   // output row rounded up to a vector; floats per phase array
    int block;         // output rows per block: each output channel is written block·ow floats at a time
    size_t slot;       // floats per prepared input row: c · stride phase arrays
    size_t rows, out, offsets, within;  // offsets (floats) of each scratch region
    size_t total;
} bk_direct_layout;

/// Padded input rows a block of `block` output rows reads.
static inline int direct_block_rows(const bk_conv_shape *s, int block) { return (block - 1) * s->stride + s->kh; }

static inline bk_direct_layout direct_layout(const bk_conv_shape *s) {
    bk_direct_layout l;
    l.owp = bk_round_up(s->ow, LANES);
    l.length = l.owp + (s->kw - 1) / s->stride;  // the last vector's furthest tap stays inside
    l.slot = (size_t)s->c * s->stride * l.length;
    // Up to 16 output rows per block, as long as their prepared input rows stay within 32 KiB (L1).
    l.block = 16;
    while (l.block > 1 && (size_t)direct_block_rows(s, l.block) * l.slot > 8 * 1024) l.block--;
    l.rows = 0;                                                               // the block's prepared rows
    l.out = l.rows + (size_t)direct_block_rows(s, l.block) * l.slot;          // [OCB][owp] before the epilogue
    l.offsets = l.out + (size_t)BK_DIRECT_OCB * l.owp;                        // [block][c·kh·kw] ints: where taps read
    l.within = l.offsets + (size_t)l.block * s->c * s->kh * s->kw;            // [c·kw] ints: a tap's place in a row
    l.total = l.within + (size_t)s->c * s->kw;
    return l;
}

size_t BK_FN(bk_direct_scratch)(const bk_conv_shape *s) { return direct_layout(s).total; }

/// Padded input row `py` of image n → its `stride` phase arrays per channel, in `dst` [c][stride][length].
static void direct_prepare_row(const bk_conv_shape *s, int batch, const float *input, int n, int py, int length,
                               float *dst) {
    int st = s->stride, iy = py - s->padding;
    if (iy < 0 || iy >= s->h) {  // a padding row
        __builtin_memset(dst, 0, sizeof(float) * (size_t)s->c * st * length);
        return;
    }
    for (int ci = 0; ci < s->c; ci++) {
        const float *src = input + (((size_t)ci * batch + n) * s->h + iy) * s->w;
        for (int q = 0; q < st; q++) {
            float *p = dst + ((size_t)ci * st + q) * length;
            // Phase entry i is column i·stride + q − padding, 0 outside the row.
            strided_row(p, src, s->w, q - s->padding, st, length);
        }
    }
}

/// out [OCB][owp], columns [x, x + dx·LANES): Σ_t w[t][o] · rows[offsets[t] + x …], for dx ≤ DX.
/// Always inlined with a constant dx, so the OCB × dx accumulators stay in registers.
static inline __attribute__((always_inline)) void direct_tile(const float *rows, const int *offsets, int taps,
                                                              const float *w, int owp, float *out, int x, int dx) {
    vf acc[BK_DIRECT_OCB][DX];
    for (int o = 0; o < BK_DIRECT_OCB; o++) {
        for (int d = 0; d < dx; d++) acc[o][d] = (vf){0};
    }
    const float *wt = w;
    for (int t = 0; t < taps; t++, wt += BK_DIRECT_OCB) {
        const float *p = rows + offsets[t] + x;
        vf in[DX];
        for (int d = 0; d < dx; d++) in[d] = vload(p + d * LANES);
        for (int o = 0; o < BK_DIRECT_OCB; o++) {
            vf k = vsplat(wt[o]);
            for (int d = 0; d < dx; d++) acc[o][d] += k * in[d];
        }
    }
    for (int o = 0; o < BK_DIRECT_OCB; o++) {
        for (int d = 0; d < dx; d++) vstore(out + (size_t)o * owp + x + d * LANES, acc[o][d]);
    }
}

/// out [OCB][owp] = Σ_t w[t][o] · rows[offsets[t] + x …] for every output column x < owp, DX
/// vectors at a time, then the rest of the row in one tile as wide as it is. A one-vector tile keeps
/// only OCB accumulators in flight, too few to hide the multiply-add latency, and loads OCB weights
/// for OCB products: resnet18's 112-wide stem ran 3 of its 7 vectors that way.
/// Shapes: rows as `direct_layout` says; w [taps][OCB]; offsets [taps].
static void direct_row(const float *rows, const int *offsets, int taps, const float *w, int owp, float *out) {
    int x = 0;
    for (; x + DX * LANES <= owp; x += DX * LANES) direct_tile(rows, offsets, taps, w, owp, out, x, DX);
    switch ((owp - x) / LANES) {  // owp is a whole number of vectors, fewer than DX left
#if DX > 3
    case 3: direct_tile(rows, offsets, taps, w, owp, out, x, 3); break;
#endif
#if DX > 2
    case 2: direct_tile(rows, offsets, taps, w, owp, out, x, 2); break;
#endif
    case 1: direct_tile(rows, offsets, taps, w, owp, out, x, 1); break;
    default: break;
    }
}

void BK_FN(bk_direct_conv_rows)(const bk_conv_shape *s, int batch, const float *input, const float *packed,
                                const bk_epilogue *epilogue, float *output, int r0, int r1, float *scratch) {
    if (r1 <= r0 || s->oc <= 0) return;
    bk_direct_layout l = direct_layout(s);
    int taps = s->c * s->kh * s->kw;
    int *offsets = (int *)(scratch + l.offsets), *within = (int *)(scratch + l.within);
    float *rows = scratch + l.rows, *out = scratch + l.out;
    // Where tap (ci, kx) reads within a prepared row; only the row changes from one output row to
    // the next (computed once here: two divisions per tap per output row cost a quarter of a 3×3 stem).
    for (int ci = 0; ci < s->c; ci++) {
        for (int kx = 0; kx < s->kw; kx++) {
            within[ci * s->kw + kx] = (int)(((size_t)ci * s->stride + kx % s->stride) * l.length) + kx / s->stride;
        }
    }
    size_t plane = (size_t)s->oh * s->ow;
    // Blocks of output rows within one image. Each output channel's rows of a block are contiguous in
    // the output, so a channel group writes `block` rows before the next group: one output row at a
    // time, 32 channels' short runs sat a power of two apart at batch 32 and the stores missed L1 on
    // set conflicts (a third of the kernel's time in the scene-s stem).
    for (int r = r0; r < r1;) {
        int n = r / s->oh, y0 = r % s->oh;
        int count = l.block < s->oh - y0 ? l.block : s->oh - y0;
        if (count > r1 - r) count = r1 - r;
        int py0 = y0 * s->stride, needed = direct_block_rows(s, count);
        for (int i = 0; i < needed; i++) direct_prepare_row(s, batch, input, n, py0 + i, l.length, rows + i * l.slot);
        for (int dy = 0; dy < count; dy++) {
            for (int ky = 0; ky < s->kh; ky++) {
                int base = (int)((size_t)(dy * s->stride + ky) * l.slot);
                for (int ci = 0; ci < s->c; ci++) {
                    int *tap = offsets + (size_t)dy * taps + (ci * s->kh + ky) * s->kw;
                    const int *in_row = within + ci * s->kw;
                    for (int kx = 0; kx < s->kw; kx++) tap[kx] = base + in_row[kx];
                }
            }
        }
        for (int ob = 0; ob < s->oc; ob += BK_DIRECT_OCB) {
            for (int dy = 0; dy < count; dy++) {
                direct_row(rows, offsets + (size_t)dy * taps, taps, packed + (size_t)ob * taps, l.owp, out);
                for (int o = ob; o < ob + BK_DIRECT_OCB && o < s->oc; o++) {
                    size_t at = ((size_t)o * batch + n) * plane + (size_t)(y0 + dy) * s->ow;
                    const float *residual = epilogue && epilogue->residual ? epilogue->residual + at : NULL;
                    float bias = epilogue && epilogue->bias ? epilogue->bias[o] : 0.0f;
                    store_row(out + (size_t)(o - ob) * l.owp, s->ow, bias, residual, epilogue ? epilogue->relu : 0,
                              output + at);
                }
            }
        }
        r += count;
    }
}

#undef DX
