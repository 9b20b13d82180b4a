// im2col, included by kernels_template.h at each level. A patch-matrix row (c, kh, kw) is, for each
// output row, one run of output columns whose source is one input row read at the stride: zeros
// where the window hangs over the border, a copy in between. ResNet's last stage at batch 1 has
// runs seven floats long, 4,608 rows of seven runs each: there the per-run bookkeeping and a
// scalar copy cost as much as a sixth of the layer's GEMM, so runs are copied with exact-length
// vector moves (two overlapping ones for a run shorter than a vector) and nothing is read or
// written past a run's ends, which keeps workers that fill neighbouring rows of one matrix apart.

/// Columns [j0, j1) of rows c·kh·kw of the patch matrix by per-run bounds arithmetic, for input
/// rows too wide for `bk_im2col`'s padded copy.
static void im2col_rows(const bk_conv_shape *s, int batch, const float *input, long j0, long j1, float *col,
                        long ldc) {
    int h = s->h, w = s->w, stride = s->stride, padding = s->padding, oh = s->oh, ow = s->ow;
    long plane = (long)oh * ow, image = (long)h * w;
    // Where column j0 sits, found once: every row restarts from it.
    int n0 = (int)(j0 / plane), y0 = (int)(j0 % plane / ow), x0 = (int)(j0 % plane % ow);
    float *row = col;
    for (int c = 0; c < s->c; c++) {
        const float *channel = input + (long)c * batch * image;
        for (int ky = 0; ky < s->kh; ky++) {
            for (int kx = 0; kx < s->kw; kx++, row += ldc) {
                float *dst = row;
                int n = n0, y = y0, x = x0;
                for (long j = j0; j < j1;) {
                    int run = ow - x < j1 - j ? ow - x : (int)(j1 - j);
                    int iy = y * stride - padding + ky;
                    if (iy < 0 || iy >= h) {
                        zero_run(dst, run);
                    } else {
                        const float *line = channel + (long)n * image + (long)iy * w;
                        strided_row(dst, line, w, x * stride - padding + kx, stride, run);
                    }
                    dst += run;
                    j += run;
                    x += run;
                    if (x == ow) {
                        x = 0;
                        if (++y == oh) { y = 0; n++; }
                    }
                }
            }
        }
    }
}

/// Floats of `bk_im2col`'s padded copy of a strip of one channel's input rows (32 KiB, on the stack).
#define IM2COL_STRIP 8192

/// input [c, batch, h, w] → col [c·kh·kw, j1 − j0] (row stride ldc) for patch-matrix columns
/// [j0, j1), column j being output pixel (n, oy, ox) = n·oh·ow + oy·ow + ox. A strip of output rows
/// at a time, each channel's input rows for the strip are first copied once with their zero
/// border, so every run is then one unconditional copy: a run of ResNet's 7-wide last stage costs
/// two loads and two stores instead of its bounds arithmetic. Without padding the input is read
/// where it lies.
void BK_FN(bk_im2col)(const bk_conv_shape *s, int batch, const float *input, long j0, long j1, float *col,
                      long ldc) {
    if (j0 >= j1) return;  // also an empty output, whose sizes below would divide by zero
    int h = s->h, w = s->w, kh = s->kh, kw = s->kw, stride = s->stride, padding = s->padding, ow = s->ow;
    long plane = (long)s->oh * ow, image = (long)h * w;
    int pitch = padding ? (ow - 1) * stride + kw : w;  // the padded copy's row: input columns −p …
    // Output rows per strip whose input rows fit the copy (none: rows too wide for it).
    int fit = IM2COL_STRIP / pitch;
    int strip_rows = !padding ? s->oh : fit < kh ? 0 : (fit - kh) / stride + 1;
    if (strip_rows < 1) {
        im2col_rows(s, batch, input, j0, j1, col, ldc);
        return;
    }
    float strip[padding ? IM2COL_STRIP : 1];
    for (long j = j0; j < j1;) {
        // This strip: pixels [first, last) of image n, output rows ya … yb, at most strip_rows of them.
        long n = j / plane, first = j - n * plane;
        int ya = (int)(first / ow);
        long last = plane;
        if ((long)(ya + strip_rows) * ow < last) last = (long)(ya + strip_rows) * ow;
        if (j1 - n * plane < last) last = j1 - n * plane;
        int yb = (int)((last - 1) / ow), rows = (yb - ya) * stride + kh;
        int r0 = ya * stride - padding;  // input row of the copy's first row
        for (int c = 0; c < s->c; c++) {
            const float *source = input + ((long)c * batch + n) * image;
            // Input row iy is row iy − first_row of `lines`: the padded copy, or the input itself.
            const float *lines = padding ? strip : source;
            int first_row = padding ? r0 : 0;
            if (padding) {
                for (int r = 0; r < rows; r++) {
                    float *line = strip + (long)r * pitch;
                    int iy = r0 + r;
                    if (iy < 0 || iy >= h) zero_run(line, pitch);
                    else strided_row(line, source + (long)iy * w, w, -padding, 1, pitch);
                }
            }
            for (int ky = 0; ky < kh; ky++) {
                for (int kx = 0; kx < kw; kx++) {
                    float *dst = col + ((long)(c * kh + ky) * kw + kx) * ldc + (j - j0);
                    for (int y = ya; y <= yb; y++) {
                        int xa = y == ya ? (int)(first - (long)ya * ow) : 0;
                        int xb = y == yb ? (int)(last - (long)yb * ow) : ow;
                        // Without padding, column x·stride + kx of row y·stride + ky lies in the image;
                        // with it, the copy's column 0 is input column −p.
                        int iy = y * stride - padding + ky;
                        const float *src = lines + (long)(iy - first_row) * pitch + (long)xa * stride + kx;
                        if (stride == 1) copy_run(dst, src, xb - xa);
                        else gather_run(dst, src, xb - xa, stride);
                        dst += xb - xa;
                    }
                }
            }
        }
        j = n * plane + last;
    }
}
