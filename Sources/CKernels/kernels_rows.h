// Row copies shared by the convolution kernels, included by kernels_template.h at each level before
// the kernels that use them: exact-length moves that read and write nothing past a run's ends.

typedef float vhalf __attribute__((vector_size(LANES * 2)));
#if LANES == 16
typedef float vquarter __attribute__((vector_size(16)));
#endif

/// dst [n] = src [n], exactly those floats read and written.
static inline void copy_run(float *dst, const float *src, int n) {
    if (n >= LANES) {
        int x = 0;
        for (; x + LANES <= n; x += LANES) vstore(dst + x, vload(src + x));
        if (x < n) vstore(dst + n - LANES, vload(src + n - LANES));
    } else if (n >= LANES / 2) {
        vhalf a, b;
        __builtin_memcpy(&a, src, sizeof a);
        __builtin_memcpy(&b, src + n - LANES / 2, sizeof b);
        __builtin_memcpy(dst, &a, sizeof a);
        __builtin_memcpy(dst + n - LANES / 2, &b, sizeof b);
#if LANES == 16
    } else if (n >= 4) {
        vquarter a, b;
        __builtin_memcpy(&a, src, sizeof a);
        __builtin_memcpy(&b, src + n - 4, sizeof b);
        __builtin_memcpy(dst, &a, sizeof a);
        __builtin_memcpy(dst + n - 4, &b, sizeof b);
#endif
    } else {
        for (int x = 0; x < n; x++) dst[x] = src[x];
    }
}

/// dst [n] = 0.
static inline void zero_run(float *dst, int n) {
    int x = 0;
    for (; x + LANES <= n; x += LANES) vstore(dst + x, (vf){0});
    for (; x < n; x++) dst[x] = 0;
}

/// dst [n] = src [0], src [s], … src [(n − 1)·s].
static inline void gather_run(float *dst, const float *src, int n, int s) {
    int x = 0;
    if (s == 2) {
        // Even lanes of two vectors; while x + LANES < n the pair ends before src [2(n − 1)].
        for (; x + LANES < n; x += LANES) vstore(dst + x, EVENS(vload(src + 2 * x), vload(src + 2 * x + LANES)));
    }
    for (; x < n; x++) dst[x] = src[(long)x * s];
}

/// dst [n] = row [first + i·stride] for i in [0, n), 0 where that column lies outside the row [0, w).
static inline void strided_row(float *dst, const float *row, int w, int first, int stride, int n) {
    // The entries [lo, hi) whose source lies inside the row.
    int lo = first >= 0 ? 0 : (-first + stride - 1) / stride;
    int hi = first >= w ? 0 : (w - first + stride - 1) / stride;
    if (lo > n) lo = n;
    if (hi > n) hi = n;
    if (hi < lo) hi = lo;
    zero_run(dst, lo);
    if (lo < hi) {
        const float *src = row + first + (long)lo * stride;
        if (stride == 1) copy_run(dst + lo, src, hi - lo);
        else gather_run(dst + lo, src, hi - lo, stride);
    }
    zero_run(dst + hi, n - hi);
}
